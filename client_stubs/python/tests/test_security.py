"""End-to-end security (issue #26): TLS, mutual TLS, bearer tokens and their roles, and
certificates and token files changed on disk under a running server, checked with
grpcurl, curl, openssl s_client, the Python and Go clients and hpoctl against the real
hpo-server. The certificates are made here with the openssl command.

Every tool is required: a missing one fails its test rather than skipping it
(scripts/install-deps.sh installs them). hpoctl is $HPOCTL_BIN, else bazel-bin/cli/hpoctl
(scripts/test-clients.sh builds it)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from conftest import REPO_ROOT, Server, server_binary, server_flags
from hpo_client import (
    Client,
    PermissionDeniedError,
    UnauthenticatedError,
    UnavailableError,
    uniform,
)
from test_grpcurl import grpcurl_binary

SECURITY_FLAGS = ("--tls_cert", "--tls_key", "--tls_client_ca", "--auth_tokens", "--metrics_public")

# How long a change on disk (a rotated certificate, an edited tokens file) may take to
# be served. The server looks every second; this is only the give-up point, not a
# measured figure.
RELOAD_DEADLINE = 60.0


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH: run scripts/install-deps.sh")
    return path


def hpoctl_binary() -> str:
    path = Path(os.environ.get("HPOCTL_BIN") or REPO_ROOT / "bazel-bin/cli/hpoctl")
    if not path.is_file():
        pytest.fail(f"hpoctl not found at {path}: run `bazel build //cli:hpoctl` or set HPOCTL_BIN")
    return str(path)


@pytest.fixture(scope="module", autouse=True)
def server_has_security_flags() -> None:
    missing = [f for f in SECURITY_FLAGS if f + " " not in server_flags()]
    if missing:
        pytest.fail(f"{server_binary()} lacks {', '.join(missing)}: build a current hpo-server")


# -- certificates ----------------------------------------------------------------------


def openssl(*args: str, input: Optional[str] = None) -> str:
    out = subprocess.run(
        [tool("openssl"), *args], input=input, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, f"openssl {' '.join(args)}:\n{out.stderr}"
    return out.stdout


class CA:
    """A certificate authority made with openssl, issuing server and client
    certificates into its folder."""

    def __init__(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.cert = folder / "ca.pem"
        self.key = folder / "ca.key"
        config = folder / "ca.cnf"
        config.write_text(
            "[req]\ndistinguished_name = dn\nprompt = no\n"
            f"[dn]\nCN = {name}\n"
            "[ca]\nbasicConstraints = critical,CA:TRUE\n"
            "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
        )
        openssl(
            "req", "-x509", "-config", str(config), "-extensions", "ca",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
        )

    def issue(
        self, name: str, serial: int, *, server: bool, key: Optional[Path] = None,
        out: Optional[Path] = None,
    ) -> Tuple[Path, Path]:
        """A certificate (and key: `key` if given, else a new one) for the server
        (localhost, 127.0.0.1) or a client; returns (cert, key)."""
        key = key or self.folder / f"{name}.key"
        if not key.exists():
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(key))
        csr = self.folder / f"{name}.csr"
        openssl("req", "-new", "-key", str(key), "-subj", f"/CN={name}", "-out", str(csr))
        ext = self.folder / f"{name}.ext"
        ext.write_text(
            "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature\n"
            + ("extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost,IP:127.0.0.1\n"
               if server else "extendedKeyUsage = clientAuth\n")
        )
        cert = self.folder / f"{name}.pem"
        openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
            "-set_serial", str(serial), "-days", "2", "-extfile", str(ext), "-out", str(cert),
        )
        if out is not None:  # replaced in one step, as a rotation does
            tmp = out.with_suffix(".tmp")
            shutil.copyfile(cert, tmp)
            os.replace(tmp, out)
            cert = out
        return cert, key


class PKI:
    """The CA, the server's certificate, a client's; another CA with its own client."""

    def __init__(self, folder: Path) -> None:
        self.ca = CA(folder / "ca", "hpo test CA")
        self.server_cert, self.server_key = self.ca.issue("server", 1001, server=True)
        self.client_cert, self.client_key = self.ca.issue("client", 2001, server=False)
        self.other = CA(folder / "other", "another CA")
        self.other_cert, self.other_key = self.other.issue("other-client", 3001, server=False)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI(tmp_path_factory.mktemp("pki"))


TOKENS: Dict[str, str] = {
    role: f"{role}-{secrets.token_urlsafe(12)}" for role in ("read", "worker", "admin")
}


def write_tokens(path: Path, tokens: Dict[str, str]) -> None:
    lines = ["# token,name,role", ""]
    lines += [f"{token},{role}-user,{role}" for role, token in tokens.items()]
    path.write_text("\n".join(lines) + "\n")


# -- servers ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def start_server(
    tmp_path_factory: pytest.TempPathFactory, pki: PKI
) -> Iterator[Callable[..., Server]]:
    """start_server(tls=True, client_ca=False, tokens=TOKENS, extra=()) -> Server; the
    tokens file is server.workdir / "tokens"."""
    started: List[Server] = []

    def start(
        *, tls: bool = True, client_ca: bool = False, tokens: Optional[Dict[str, str]] = TOKENS,
        extra: Sequence[str] = (), cert: Optional[Path] = None,
    ) -> Server:
        workdir = tmp_path_factory.mktemp("server")
        args = list(extra)
        if tls:
            args += [f"--tls_cert={cert or pki.server_cert}", f"--tls_key={pki.server_key}"]
        if client_ca:
            args.append(f"--tls_client_ca={pki.ca.cert}")
        if tokens is not None:
            write_tokens(workdir / "tokens", tokens)
            args.append(f"--auth_tokens={workdir / 'tokens'}")
        server = Server(workdir, args=args).start()
        started.append(server)
        return server

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module")
def secure(start_server: Callable[..., Server]) -> Server:
    """TLS (no client certificate needed) and the three tokens."""
    return start_server()


def connect(server: Server, pki: PKI, role: Optional[str], **kw: object) -> Client:
    kw.setdefault("tls_ca", str(pki.ca.cert))
    kw.setdefault("retry_timeout", 0)  # every failure here is a refusal
    kw.setdefault("timeout", 30)
    token = TOKENS[role] if role else ""
    return Client(server.address, token=token, **kw)  # type: ignore[arg-type]


def create(server: Server, pki: PKI, name: str, max_trials: int = 0) -> None:
    with connect(server, pki, "admin") as admin:
        admin.create_experiment(
            name, space={"x": uniform(-1, 1)}, objective="loss", goal="minimize",
            max_trials=max_trials,
        )


# -- the tools -------------------------------------------------------------------------


def grpcurl(
    server: Server, pki: PKI, *args: str, token: Optional[str] = None, tls: bool = True,
    cert: Optional[Tuple[Path, Path]] = None,
) -> subprocess.CompletedProcess:
    argv = [grpcurl_binary()]
    argv += ["-cacert", str(pki.ca.cert)] if tls else ["-plaintext"]
    if cert:
        argv += ["-cert", str(cert[0]), "-key", str(cert[1])]
    if token:
        argv += ["-H", f"authorization: Bearer {token}"]
    argv += list(args[:-1]) + [server.address, args[-1]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


class Http:
    def __init__(self, code: int, body: str, headers: str, rc: int, stderr: str) -> None:
        self.code, self.body, self.headers, self.rc, self.stderr = code, body, headers, rc, stderr

    def __repr__(self) -> str:
        return f"HTTP {self.code} (curl exit {self.rc}): {self.body[:300]!r} {self.stderr[:300]!r}"


def curl(
    url: str, pki: PKI, *args: str, token: Optional[str] = None,
    cert: Optional[Tuple[Path, Path]] = None, tmp: Path,
) -> Http:
    body, headers = tmp / "curl-body", tmp / "curl-headers"
    for f in (body, headers):
        f.unlink(missing_ok=True)
    argv = [tool("curl"), "-sS", "--max-time", "30", "--cacert", str(pki.ca.cert),
            "-o", str(body), "-D", str(headers), "-w", "%{http_code}"]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(argv + list(args) + [url], capture_output=True, text=True, timeout=60)
    code = int(out.stdout.strip() or 0)
    read = lambda f: f.read_text(errors="replace") if f.exists() else ""  # noqa: E731
    return Http(code, read(body), read(headers), out.returncode, out.stderr)


def post_json(body: object) -> List[str]:
    return ["-X", "POST", "-H", "Content-Type: application/json", "-d", json.dumps(body)]


def served_serial(port: int) -> str:
    """The serial number of the certificate served on the port, from a new handshake."""
    hello = subprocess.run(
        [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"],
        input="", capture_output=True, text=True, timeout=30,
    )
    assert "BEGIN CERTIFICATE" in hello.stdout, f"openssl s_client:\n{hello.stdout}\n{hello.stderr}"
    return openssl("x509", "-noout", "-serial", input=hello.stdout).strip().split("=")[1]


def http_port(server: Server) -> int:
    return int(server.http_url.rsplit(":", 1)[1].rstrip("/"))


def eventually(what: str, check: Callable[[], Optional[str]]) -> None:
    """Polls check() (None: done; otherwise what is still wrong) until it passes or the
    deadline passes."""
    deadline = time.monotonic() + RELOAD_DEADLINE
    while True:
        wrong = check()
        if wrong is None:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {wrong} after {RELOAD_DEADLINE:.0f} s")
        time.sleep(0.2)


# -- the tests -------------------------------------------------------------------------


def test_grpcurl_and_curl_work_over_tls_with_an_admin_token(secure, pki, name, tmp_path):
    experiment = {"experiment": {
        "name": name, "parameters": [{"name": "x", "doubleRange": {"min": -1, "max": 1}}],
        "objectives": [{"name": "loss", "goal": "MINIMIZE"}]}}
    out = grpcurl(secure, pki, "-d", json.dumps(experiment), "hpo.v1.HpoService/CreateExperiment",
                  token=TOKENS["admin"])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["name"] == name

    out = grpcurl(secure, pki, "-d", "{}", "hpo.v1.HpoService/ListExperiments",
                  token=TOKENS["admin"])
    assert out.returncode == 0, out.stderr
    assert name in [e["name"] for e in json.loads(out.stdout)["experiments"]]

    assert secure.http_url.startswith("https://")
    got = curl(f"{secure.http_url}/v1/experiments", pki, token=TOKENS["admin"], tmp=tmp_path)
    assert got.code == 200, got
    assert name in [e["name"] for e in json.loads(got.body)["experiments"]]


def run_pairs(c: Client, name: str, n: int = 3) -> None:
    exp = c.experiment(name)
    for _ in range(n):
        trial = exp.suggest()
        trial.report(loss=trial.params["x"] ** 2)


def test_python_client_runs_trials_over_tls_with_a_worker_token(secure, pki, name, monkeypatch):
    create(secure, pki, name)
    with connect(secure, pki, "worker") as worker:
        assert worker.tls is True
        run_pairs(worker, name)
    # The same from the environment alone.
    monkeypatch.setenv("HPO_TOKEN", TOKENS["worker"])
    monkeypatch.setenv("HPO_TLS_CA", str(pki.ca.cert))
    with Client(secure.address, retry_timeout=0) as worker:
        run_pairs(worker, name)
    with connect(secure, pki, "read") as reader:
        done = list(reader.experiment(name).trials(states=["COMPLETED"]))
    assert len(done) == 6


def test_go_client_runs_trials_over_tls_with_a_worker_token(secure, pki, name):
    go = tool("go")
    create(secure, pki, name)
    env = dict(
        os.environ,
        HPO_SERVER_BIN=str(Path(server_binary()).resolve()),
        HPO_SECURITY_TEST_ADDR=secure.address,
        HPO_SECURITY_TEST_EXPERIMENT=name,
        HPO_TOKEN=TOKENS["worker"],
        HPO_TLS_CA=str(pki.ca.cert),
        HPO_TLS_CERT="",
        HPO_TLS_KEY="",
    )
    out = subprocess.run(
        [go, "test", "-count=1", "-v", "-run", "^TestSecurity$", "./hpo"],
        cwd=REPO_ROOT / "client_stubs/go", env=env, capture_output=True, text=True, timeout=900,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    assert "--- PASS: TestSecurity" in out.stdout, out.stdout[-4000:]
    with connect(secure, pki, "read") as reader:
        assert len(list(reader.experiment(name).trials(states=["COMPLETED"]))) == 3


def test_no_token_is_unauthenticated_and_401(secure, pki, tmp_path):
    with connect(secure, pki, None, retry_timeout=30) as anonymous:
        with pytest.raises(UnauthenticatedError) as e:
            list(anonymous.experiments())
    assert e.value.code.name == "UNAUTHENTICATED"
    assert "no token was sent" in str(e.value)
    assert e.value.attempts == 1  # type: ignore[attr-defined]  # a refusal: not retried

    out = grpcurl(secure, pki, "-d", "{}", "hpo.v1.HpoService/ListExperiments")
    assert out.returncode != 0 and "Unauthenticated" in out.stderr, out.stderr

    got = curl(f"{secure.http_url}/v1/experiments", pki, tmp=tmp_path)
    assert got.code == 401, got


def test_wrong_token_is_unauthenticated_and_401_and_not_echoed(secure, pki, tmp_path):
    wrong = "wrong-" + secrets.token_urlsafe(12)
    with Client(secure.address, token=wrong, tls_ca=str(pki.ca.cert), retry_timeout=0) as c:
        with pytest.raises(UnauthenticatedError) as e:
            list(c.experiments())
    assert wrong not in str(e.value) and wrong not in repr(e.value)
    assert "did not accept the token" in str(e.value)

    out = grpcurl(secure, pki, "-d", "{}", "hpo.v1.HpoService/ListExperiments", token=wrong)
    assert out.returncode != 0 and "Unauthenticated" in out.stderr, out.stderr
    assert wrong not in out.stdout + out.stderr

    got = curl(f"{secure.http_url}/v1/experiments", pki, token=wrong, tmp=tmp_path)
    assert got.code == 401, got
    assert wrong not in got.body + got.headers


def test_read_token_cannot_create_or_report(secure, pki, name, tmp_path):
    create(secure, pki, name)
    with connect(secure, pki, "worker") as worker:
        trial = worker.experiment(name).suggest()
    with connect(secure, pki, "read") as reader:
        with pytest.raises(PermissionDeniedError) as e:
            reader.create_experiment(name + "-r", space={"x": uniform(0, 1)}, objective="loss")
        assert "CreateExperiment" in str(e.value)
        # Reading is allowed; the trial as the reader sees it reports under the
        # worker's id, so the refusal is the role's, not the lease's.
        mine = next(t for t in reader.experiment(name).trials() if t.number == trial.number)
        assert mine.worker_id == trial.worker_id
        with pytest.raises(PermissionDeniedError):
            mine.report(loss=0.5)

    url = secure.http_url
    spec = {"name": name + "-h", "parameters": [{"name": "x", "doubleRange": {"min": 0, "max": 1}}],
            "objectives": [{"name": "loss", "goal": "MINIMIZE"}]}
    got = curl(f"{url}/v1/experiments", pki, *post_json({"experiment": spec}),
               token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 403, got
    got = curl(f"{url}/v1/experiments/{name}/trials/{trial.number}:report", pki,
               *post_json({"workerId": trial.worker_id, "metrics": {"loss": 0.5}}),
               token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 403, got
    got = curl(f"{url}/v1/experiments/{name}", pki, token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 200, got


def test_worker_token_suggests_and_reports_but_cannot_delete(secure, pki, name, tmp_path):
    create(secure, pki, name)
    with connect(secure, pki, "worker") as worker:
        run_pairs(worker, name, 2)
        with pytest.raises(PermissionDeniedError):
            worker.delete_experiment(name)
        with pytest.raises(PermissionDeniedError):
            worker.experiment(name).stop()
    got = curl(f"{secure.http_url}/v1/experiments/{name}", pki, "-X", "DELETE",
               token=TOKENS["worker"], tmp=tmp_path)
    assert got.code == 403, got
    got = curl(f"{secure.http_url}/v1/experiments/{name}/trials:suggest", pki,
               *post_json({"workerId": "curl-worker"}), token=TOKENS["worker"], tmp=tmp_path)
    assert got.code == 200, got
    with connect(secure, pki, "admin") as admin:
        assert admin.experiment(name).status.completed == 2  # still there


def test_server_certificate_from_another_ca_fails_without_retries(secure, pki):
    with connect(secure, pki, "admin", tls_ca=str(pki.other.cert), retry_timeout=30) as c:
        with pytest.raises(UnavailableError) as e:
            list(c.experiments())
    assert "handshake failed" in str(e.value).lower() and "tls_ca" in str(e.value)
    assert e.value.attempts == 1  # type: ignore[attr-defined]


def test_plaintext_client_against_the_tls_port_fails(secure, pki, tmp_path):
    with Client(secure.address, token=TOKENS["admin"], tls_ca="", retry_timeout=0,
                timeout=30) as plain:
        assert plain.tls is False
        with pytest.raises(UnavailableError) as e:
            list(plain.experiments())
    assert TOKENS["admin"] not in str(e.value)

    out = grpcurl(secure, pki, "-d", "{}", "hpo.v1.HpoService/ListExperiments",
                  token=TOKENS["admin"], tls=False)
    assert out.returncode != 0, out.stdout

    http = secure.http_url.replace("https://", "http://")
    got = curl(f"{http}/v1/experiments", pki, token=TOKENS["admin"], tmp=tmp_path)
    assert got.code != 200 and "experiments" not in got.body, got


def test_mutual_tls_needs_a_client_certificate_from_the_right_ca(start_server, pki, tmp_path):
    server = start_server(client_ca=True)
    right = (pki.client_cert, pki.client_key)
    other = (pki.other_cert, pki.other_key)

    # gRPC: the Python client.
    with connect(server, pki, "admin") as none:
        with pytest.raises(UnavailableError) as e:
            list(none.experiments())
        assert "tls_cert" in str(e.value)  # the hint: the server may want one
    with connect(server, pki, "admin", tls_cert=str(other[0]), tls_key=str(other[1])) as c:
        with pytest.raises(UnavailableError):
            list(c.experiments())
    with connect(server, pki, "admin", tls_cert=str(right[0]), tls_key=str(right[1])) as c:
        assert list(c.experiments()) == []

    # gRPC: grpcurl.
    for cert, ok in ((None, False), (other, False), (right, True)):
        out = grpcurl(server, pki, "-d", "{}", "hpo.v1.HpoService/ListExperiments",
                      token=TOKENS["read"], cert=cert)
        assert (out.returncode == 0) == ok, f"client certificate {cert}: {out.stderr}"

    # HTTPS: curl.
    url = f"{server.http_url}/v1/experiments"
    for cert, ok in ((None, False), (other, False), (right, True)):
        got = curl(url, pki, token=TOKENS["read"], cert=cert, tmp=tmp_path)
        assert (got.code == 200) == ok, f"client certificate {cert}: {got}"


def test_rotated_certificate_is_served_without_a_restart(start_server, pki, tmp_path):
    # The server reads its own copy, which the test replaces.
    cert = tmp_path / "served.pem"
    shutil.copyfile(pki.server_cert, cert)
    server = start_server(cert=cert)
    pid = server.proc.pid
    ports = {"gRPC": server.port, "HTTPS": http_port(server)}
    for port in ports.values():
        assert int(served_serial(port), 16) == 1001

    def check_serial(serial: int) -> Callable[[], Optional[str]]:
        def check() -> Optional[str]:
            got = {what: int(served_serial(port), 16) for what, port in ports.items()}
            return None if set(got.values()) == {serial} else f"serving serials {got}"
        return check

    # The same key, a new certificate.
    pki.ca.issue("server-rotated", 1002, server=True, key=pki.server_key, out=cert)
    eventually("a rotated certificate (same key)", check_serial(1002))
    with connect(server, pki, "read") as reader:
        assert isinstance(list(reader.experiments()), list)
    got = curl(f"{server.http_url}/v1/experiments", pki, token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 200, got
    assert server.proc.pid == pid and server.proc.poll() is None


def test_rotated_certificate_and_key_are_served_without_a_restart(start_server, pki, tmp_path):
    cert, key = tmp_path / "served.pem", tmp_path / "served.key"
    shutil.copyfile(pki.server_cert, cert)
    shutil.copyfile(pki.server_key, key)
    server = start_server(
        tls=False, extra=[f"--tls_cert={cert}", f"--tls_key={key}"]
    )
    ports = {"gRPC": server.port, "HTTPS": http_port(server)}
    # A new key and a certificate for it: the key file first, then the certificate,
    # as a renewal would write them; the server must not serve a mismatched pair.
    new_cert, new_key = pki.ca.issue("server-new-key", 1003, server=True)
    tmp = key.with_suffix(".tmp")
    shutil.copyfile(new_key, tmp)
    os.replace(tmp, key)
    shutil.copyfile(new_cert, tmp)
    os.replace(tmp, cert)

    def check() -> Optional[str]:
        got = {what: int(served_serial(port), 16) for what, port in ports.items()}
        return None if set(got.values()) == {1003} else f"serving serials {got}"

    eventually("a rotated certificate and key", check)
    with connect(server, pki, "read") as reader:
        assert isinstance(list(reader.experiments()), list)
    got = curl(f"{server.http_url}/v1/experiments", pki, token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 200, got


def test_edited_tokens_file_takes_effect_without_a_restart(start_server, pki, tmp_path):
    old = {"admin": "old-" + secrets.token_urlsafe(12), "read": TOKENS["read"]}
    server = start_server(tokens=old)
    pid = server.proc.pid

    def works(token: str) -> bool:
        with Client(server.address, token=token, tls_ca=str(pki.ca.cert), retry_timeout=0) as c:
            try:
                list(c.experiments())
                return True
            except UnauthenticatedError:
                return False

    assert works(old["admin"])
    new = {"read": TOKENS["read"], "admin": "new-" + secrets.token_urlsafe(12)}
    write_tokens(server.workdir / "tokens", new)  # edited in place

    def check() -> Optional[str]:
        if works(old["admin"]):
            return "accepting the removed token"
        if not works(new["admin"]):
            return "refusing the added token"
        return None

    eventually("the edited tokens file", check)
    assert works(TOKENS["read"])  # kept
    url = f"{server.http_url}/v1/experiments"
    assert curl(url, pki, token=old["admin"], tmp=tmp_path).code == 401
    assert curl(url, pki, token=new["admin"], tmp=tmp_path).code == 200
    assert server.proc.pid == pid and server.proc.poll() is None


def test_health_needs_no_token(secure, pki, tmp_path):
    for service in ("", "hpo.v1.HpoService"):
        out = grpcurl(secure, pki, "-d", json.dumps({"service": service}),
                      "grpc.health.v1.Health/Check")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == {"status": "SERVING"}
    for path in ("/healthz", "/readyz"):
        got = curl(secure.http_url + path, pki, tmp=tmp_path)
        assert got.code == 200, (path, got)


def test_metrics_need_read_unless_metrics_public(secure, start_server, pki, tmp_path):
    url = f"{secure.http_url}/metrics"
    assert curl(url, pki, tmp=tmp_path).code == 401
    got = curl(url, pki, token=TOKENS["read"], tmp=tmp_path)
    assert got.code == 200 and "# TYPE" in got.body, got

    public = start_server(extra=["--metrics_public"])
    got = curl(f"{public.http_url}/metrics", pki, tmp=tmp_path)
    assert got.code == 200 and "# TYPE" in got.body, got
    # Only /metrics is public.
    assert curl(f"{public.http_url}/v1/experiments", pki, tmp=tmp_path).code == 401


def hpoctl(
    *args: str, env: Optional[Dict[str, str]] = None, cwd: Path
) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HPO_TOKEN", "HPO_TLS_"))}
    return subprocess.run(
        [hpoctl_binary(), *args], env={**clean, **(env or {})}, cwd=cwd,
        capture_output=True, text=True, timeout=300,
    )


def test_hpoctl_lists_and_runs_trials_with_a_token_over_tls(secure, pki, name, tmp_path):
    create(secure, pki, name, max_trials=3)
    ca = str(pki.ca.cert)

    out = hpoctl("--server", secure.address, "--token", TOKENS["read"], "--tls_ca", ca, "list",
                 cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert name in out.stdout

    # The same from the environment, the flags after the command.
    out = hpoctl("list", "--server", secure.address,
                 env={"HPO_TOKEN": TOKENS["read"], "HPO_TLS_CA": ca}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert name in out.stdout

    out = hpoctl("--server", secure.address, "--tls_ca", ca, "list", cwd=tmp_path)
    assert out.returncode == 1
    assert "no token was sent" in out.stderr, out.stderr

    out = hpoctl("--server", secure.address, "--token", TOKENS["worker"], "--tls_ca", ca,
                 "delete", name, cwd=tmp_path)
    assert out.returncode == 1 and "role" in out.stderr, out.stderr
    assert TOKENS["worker"] not in out.stderr

    out = hpoctl("worker", name, "--server", secure.address,
                 "--command", "echo loss=${trialParameters.x}", "--worker-id", "secure-w",
                 env={"HPO_TOKEN": TOKENS["worker"], "HPO_TLS_CA": ca}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with connect(secure, pki, "read") as reader:
        exp = reader.experiment(name)
        assert exp.state == "COMPLETED"
        assert len(list(exp.trials(states=["COMPLETED"]))) == 3


def test_hpoctl_worker_with_a_spec_joins_what_its_token_may_not_create(
    secure, pki, name, tmp_path
):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: {name}\n"
        "parameters:\n  - name: x\n    doubleRange: {min: -1, max: 1}\n"
        "objectives: [{name: loss, goal: MINIMIZE}]\nmaxTrials: 2\n"
        "command: echo loss=${trialParameters.x}\n"
    )
    env = {"HPO_TOKEN": TOKENS["worker"], "HPO_TLS_CA": str(pki.ca.cert)}
    # Not there yet: the worker may not create it, and says so.
    out = hpoctl("worker", "-f", str(spec), "--server", secure.address, env=env, cwd=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "role does not allow" in out.stderr, out.stderr

    create(secure, pki, name, max_trials=2)
    out = hpoctl("worker", "-f", str(spec), "--server", secure.address, "--worker-id", "spec-w",
                 env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"joining experiment {name}" in out.stderr, out.stderr
    with connect(secure, pki, "read") as reader:
        assert len(list(reader.experiment(name).trials(states=["COMPLETED"]))) == 2


def test_client_settings_errors_name_the_setting_and_file(tmp_path, monkeypatch, pki):
    for var in ("HPO_TOKEN", "HPO_TLS_CA", "HPO_TLS_CERT", "HPO_TLS_KEY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match=r"tls_cert is set but neither tls_key nor \$HPO_TLS_KEY"):
        Client("localhost:1", tls_cert=str(pki.client_cert))
    missing = tmp_path / "no-such-ca.pem"
    with pytest.raises(ValueError, match=f"tls_ca={missing}: cannot read it"):
        Client("localhost:1", tls_ca=str(missing))
    monkeypatch.setenv("HPO_TLS_KEY", str(pki.client_key))
    with pytest.raises(
        ValueError, match=r"\$HPO_TLS_KEY is set but neither tls_cert nor \$HPO_TLS_CERT"
    ):
        Client("localhost:1")
    monkeypatch.delenv("HPO_TLS_KEY")
    with pytest.raises(ValueError) as e:
        Client("localhost:1", token="two words")
    assert "two words" not in str(e.value)

    out = hpoctl("--server", "localhost:1", "--tls_ca", str(missing), "list", cwd=tmp_path)
    assert out.returncode == 1 and str(missing) in out.stderr, out.stderr
    out = hpoctl("--server", "localhost:1", "--tls_cert", str(pki.client_cert), "list",
                 cwd=tmp_path)
    assert out.returncode == 1 and "--tls-key" in out.stderr, out.stderr
