#!/usr/bin/env bash
# Makes what the secure overlays' Secrets hold, as files in DIR, with openssl:
#   ca.crt, ca.key   a CA (made once; kept when DIR has one, so clients keep trusting it)
#   tls.crt, tls.key a server certificate it signs for the Service's names (SERVICE,
#                    SERVICE.NAMESPACE, ...svc, ...svc.cluster.local) and localhost,
#                    127.0.0.1 (for kubectl port-forward); new on every run
#   tokens.csv       admin, worker and read tokens, `openssl rand -hex 32` each
#                    (made once; edit it to add or drop tokens)
#   worker.token     the worker token alone (the Secret hpo-worker-token)
# and prints the kubectl commands that create the Secrets, or update them in place.
# ca.key never goes into the cluster: keep it safe (or use cert-manager instead).
#
#   k8s/overlays/secure/make-secrets.sh DIR [SERVICE [NAMESPACE]]   (default hpo hpo)
set -euo pipefail
dir=${1:?usage: make-secrets.sh DIR [SERVICE [NAMESPACE]]}
service=${2:-hpo}
namespace=${3:-hpo}
umask 077
mkdir -p "$dir"
cd "$dir"

quiet() { # command...: its output only if it fails
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; return 1; }
}

if [[ ! -f ca.key ]]; then
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.crt -days 3650 -subj "/CN=$service CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
fi
names="DNS:$service,DNS:$service.$namespace,DNS:$service.$namespace.svc"
names+=",DNS:$service.$namespace.svc.cluster.local,DNS:localhost,IP:127.0.0.1"
quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout tls.key.new -out tls.csr -subj "/CN=$service.$namespace.svc"
quiet openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key \
  -set_serial "0x$(openssl rand -hex 16)" -days 365 -out tls.crt.new -extfile <(printf '%s\n' \
    "subjectAltName=$names" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth")
rm tls.csr
# Renamed into place only when both are made: never a key without its certificate.
mv tls.key.new tls.key
mv tls.crt.new tls.crt

if [[ ! -f tokens.csv ]]; then
  worker=$(openssl rand -hex 32)
  {
    echo "# token,name,role (server/auth/README.md)"
    echo "$(openssl rand -hex 32),admin,admin"
    echo "$worker,workers,worker"
    echo "$(openssl rand -hex 32),prometheus,read"
  } >tokens.csv
  printf '%s' "$worker" >worker.token
fi

dir=$(printf %q "$(pwd)") # quoted for the shell that runs the commands
apply="--dry-run=client -o yaml | kubectl apply -f -"
cat <<EOT
kubectl -n $namespace create secret generic hpo-tls --type=kubernetes.io/tls \\
  --from-file=$dir/tls.crt --from-file=$dir/tls.key --from-file=$dir/ca.crt $apply
kubectl -n $namespace create secret generic hpo-tokens --from-file=$dir/tokens.csv $apply
kubectl -n $namespace create secret generic hpo-worker-token \\
  --from-file=token=$dir/worker.token $apply
EOT
