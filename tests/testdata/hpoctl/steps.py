"""Prints `step=N loss=V` lines: V falls by 1 per step from --start. With
--ignore-term the process ignores SIGTERM, so only SIGKILL ends it."""
import argparse
import signal
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--start", type=float, default=10)
p.add_argument("--steps", type=int, default=5)
p.add_argument("--sleep", type=float, default=0.05)
p.add_argument("--ignore-term", action="store_true")
a = p.parse_args()
if a.ignore_term:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
for step in range(a.steps):
    print("step=%d loss=%g" % (step, a.start - step), flush=True)
    time.sleep(a.sleep)
sys.exit(0)
