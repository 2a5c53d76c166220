#!/usr/bin/env bash
# Entry point of the PeerFS DaemonSet pod: mounts the central store at PEERFS_MOUNTPOINT on
# the host (through a Bidirectional hostPath) and stays in the foreground; SIGTERM (pod
# deletion) unmounts. Settings come from the environment (ConfigMap, Secret, downward API).
set -euo pipefail
: "${PEERFS_BACKEND:?must name the directory of the central store, as mounted into this pod}"
: "${PEERFS_MOUNTPOINT:=/mnt/peerfs}"
: "${PEERFS_CACHE_DIR:=/var/cache/peerfs/data}"
: "${PEERFS_CACHE_SIZE:=100GiB}"
: "${PEERFS_PORT:=7070}"
: "${PEERFS_METRICS:=0.0.0.0:9567}"
: "${PEERFS_SECRET_FILE:=/etc/peerfs/secret/secret}"
# pipes that hold a whole 1 MiB read reply, as the deb package's sysctl.d file sets (the pod is
# privileged for FUSE; the limit is the host's): read replies are then spliced, not copied
limit=$(cat /proc/sys/fs/pipe-max-size 2>/dev/null || echo 0)
if [ "$limit" -lt 2097152 ] && ! { echo 2097152 > /proc/sys/fs/pipe-max-size; } 2>/dev/null; then
  echo "peerfs-node: fs.pipe-max-size stays $limit: read replies are copied, not spliced" >&2
fi
args=(mount "$PEERFS_BACKEND" "$PEERFS_MOUNTPOINT" --foreground
      --cache-dir "$PEERFS_CACHE_DIR" --cache-size "$PEERFS_CACHE_SIZE" --metrics "$PEERFS_METRICS"
      )
if [ -n "${PEERFS_META:-}" ]; then
  # a cluster: the node is reached at its host IP; its name is the Kubernetes node's. The
  # daemon reads PEERFS_META from its environment: a Redis password never shows in ps
  : "${POD_IP:?must be set from status.podIP (the pod runs with hostNetwork)}"
  export PEERFS_META
  if grep -q '^replace-me' "$PEERFS_SECRET_FILE" 2>/dev/null; then
    echo "peerfs-node: $PEERFS_SECRET_FILE is the manifest's placeholder, not a cluster secret: create one with" \
      "kubectl -n peerfs-system create secret generic peerfs-secret --from-literal=secret=\"\$(head -c 32 /dev/urandom | base64)\"" >&2
    exit 1
  fi
  args+=(--listen "$POD_IP:$PEERFS_PORT" --secret-file "$PEERFS_SECRET_FILE")
  if [ -n "${NODE_NAME:-}" ]; then args+=(--node-id "$NODE_NAME"); fi
fi
if [ -n "${PEERFS_TLS_DIR:-}" ]; then
  # mutual TLS between peers: a Secret with tls.crt, tls.key (PKCS#8) and ca.crt
  args+=(--tls-cert "$PEERFS_TLS_DIR/tls.crt" --tls-key "$PEERFS_TLS_DIR/tls.key" --tls-ca "$PEERFS_TLS_DIR/ca.crt")
fi
if [ -n "${PEERFS_META_REPLICAS:-}" ]; then args+=(--meta-replicas "$PEERFS_META_REPLICAS"); fi
if [ -n "${PEERFS_RESULT_PATHS:-}" ]; then args+=(--result-paths "$PEERFS_RESULT_PATHS"); fi
if [ -n "${PEERFS_SCRATCH_REPLICAS:-}" ]; then args+=(--scratch-replicas "$PEERFS_SCRATCH_REPLICAS"); fi
# anything else, e.g. PEERFS_EXTRA_ARGS="--chunk-size 8MiB --writeback"
read -r -a extra <<< "${PEERFS_EXTRA_ARGS:-}"
exec /usr/bin/peerfs "${args[@]}" "${extra[@]}"
