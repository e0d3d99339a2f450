# qemu-tests/cluster-lib.sh: what the cluster cases (cases/cluster.sh,
# cases/day2.sh) share: reading seeds, the test overlay of a node, the API
# stand-in in the harness's namespace. Sourced after lib.sh.
# shellcheck shell=bash

yaml_get() {  # FILE DOTTED.KEY -> value (python3-yaml on the host)
  /usr/bin/python3 -c 'import sys,yaml; d=yaml.safe_load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d if not isinstance(d,(list,dict)) else __import__("json").dumps(d))' "$1" "$2"
}

# overlay_tree DIR KIND...: a node's test overlay (never in an image), KIND:
#   k8s     kubeadm-standin as /usr/bin/kubeadm, and the kubelet stand-in
#           started once kubeadm wrote kubelet.conf (as kubeadm starts it)
#   master  the API port forwarded to the API stand-in on the harness
#           network, once kubeadm init wrote admin.conf (the control plane up)
#   mqtt    a real mosquitto on NodePort 30004, standing in for the VerneMQ
#           Service ($SYS every 2 s: the harness counts its clients)
#   ops     what an operator's shell would do, over the harness network:
#           port 7000 runs `systemctl restart node-agent` (rerun the agent,
#           README "A run"), port 7001 reports the node's state
overlay_tree() {
  local d=$1; shift; rm -rf "$d"; mkdir -p "$d/usr/bin" "$d/usr/lib/systemd/system" "$d/etc/systemd/system/multi-user.target.wants"
  local u=$d/usr/lib/systemd/system w=$d/etc/systemd/system/multi-user.target.wants k
  for k in "$@"; do case $k in
  k8s)
    install -m 0755 "$STANDIN/kubeadm-standin" "$d/usr/bin/kubeadm"
    install -m 0755 "$STANDIN/kubelet-standin" "$d/usr/bin/kubelet-standin"
    printf '[Unit]\nDescription=kubelet TEST STAND-IN (qemu-tests overlay)\n[Service]\nExecStart=/usr/bin/kubelet-standin\nRestart=on-failure\nRestartSec=3\n[Install]\nWantedBy=multi-user.target\n' >"$u/kubelet.service"
    printf '[Unit]\nDescription=start the kubelet stand-in once kubeadm wrote kubelet.conf (qemu-tests)\n[Path]\nPathExists=/etc/kubernetes/kubelet.conf\nUnit=kubelet.service\n[Install]\nWantedBy=multi-user.target\n' >"$u/qtest-kubelet.path"
    ln -sf /usr/lib/systemd/system/qtest-kubelet.path "$w/qtest-kubelet.path" ;;
  master)
    printf '[Unit]\nDescription=API port of this master forwarded to the API stand-in on the harness network (qemu-tests)\n[Service]\nExecStart=/usr/bin/socat TCP-LISTEN:6443,fork,reuseaddr TCP:192.168.0.1:6443\nRestart=always\n' >"$u/qtest-apiserver.service"
    printf '[Unit]\nDescription=the control plane comes up once kubeadm init wrote admin.conf (qemu-tests)\n[Path]\nPathExists=/etc/kubernetes/admin.conf\nUnit=qtest-apiserver.service\n[Install]\nWantedBy=multi-user.target\n' >"$u/qtest-apiserver.path"
    ln -sf /usr/lib/systemd/system/qtest-apiserver.path "$w/qtest-apiserver.path" ;;
  mqtt)
    mkdir -p "$d/usr/lib/qtest" "$d/etc/qtest"
    cp /usr/sbin/mosquitto "$d/usr/lib/qtest/"
    ldd /usr/sbin/mosquitto | awk '/=> \//{print $3}' | xargs -I{} cp -L {} "$d/usr/lib/qtest/"
    printf 'listener 30004 0.0.0.0\nallow_anonymous true\nuser root\nsys_interval 2\n' >"$d/etc/qtest/mosquitto.conf"
    printf '[Unit]\nDescription=mosquitto on NodePort 30004, standing in for the VerneMQ Service (qemu-tests)\nAfter=network.target\n[Service]\nEnvironment=LD_LIBRARY_PATH=/usr/lib/qtest\nExecStart=/usr/lib/qtest/mosquitto -c /etc/qtest/mosquitto.conf\nLimitNOFILE=65536\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' >"$u/qtest-mosquitto.service"
    ln -sf /usr/lib/systemd/system/qtest-mosquitto.service "$w/qtest-mosquitto.service" ;;
  ops)
    cat >"$d/usr/bin/qtest-state" <<'STATE'
#!/bin/sh
# the node state the day-2 case compares before and after a rerun (qemu-tests)
for u in node-agent haproxy; do
  echo "$u: $(systemctl show -p ActiveState -p MainPID -p NRestarts -p ExecMainStartTimestampMonotonic "$u" | tr '\n' ' ')"
done
echo "haproxy processes: $(pgrep -c -x haproxy)"
node-agent status 2>&1 | sed 's/^/status: /'
STATE
    chmod 0755 "$d/usr/bin/qtest-state"
    printf '[Unit]\nDescription=rerun the node agent on a connection to port 7000, as an operator would (qemu-tests)\nAfter=network.target\n[Service]\nExecStart=/usr/bin/socat TCP-LISTEN:7000,fork,reuseaddr SYSTEM:"systemctl restart node-agent.service && echo rerun done || echo rerun failed"\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' >"$u/qtest-rerun.service"
    printf '[Unit]\nDescription=report the node state on a connection to port 7001 (qemu-tests)\nAfter=network.target\n[Service]\nExecStart=/usr/bin/socat TCP-LISTEN:7001,fork,reuseaddr EXEC:/usr/bin/qtest-state\nRestart=always\n[Install]\nWantedBy=multi-user.target\n' >"$u/qtest-state.service"
    ln -sf /usr/lib/systemd/system/qtest-rerun.service "$w/qtest-rerun.service"
    ln -sf /usr/lib/systemd/system/qtest-state.service "$w/qtest-state.service" ;;
  esac; done
}

# api_cert SEEDS_DIR WORK_DIR API_ADDR: the API server's certificate, signed
# by the rollout's CA, for the master's address and the harness's
api_cert() {
  local seeds=$1 w=$2 api=$3
  openssl req -new -newkey rsa:2048 -nodes -keyout "$w/apiserver.key" -subj /CN=kube-apiserver -out "$w/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s,IP:192.168.0.1,DNS:kubernetes,DNS:kubernetes.default\n' "$api" >"$w/san.ext"
  openssl x509 -req -in "$w/apiserver.csr" -CA "$seeds/ca.crt" -CAkey "$seeds/ca.key" -CAcreateserial -days 2 \
    -extfile "$w/san.ext" -out "$w/apiserver.crt" 2>/dev/null
}
