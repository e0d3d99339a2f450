#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kube-api-standin: a TEST STAND-IN for the Kubernetes 1.17 API server.

It is not Kubernetes. It answers the calls node-agent's manifests and
node-labels steps make (discovery, GET/POST/merge-PATCH of objects, nodes)
the way kube-apiserver does, strictly, and records every object written, in
order, to a JSON log the tests read:

  /version, /api, /apis                      version and group lists
  /api/v1, /apis/<group>/<version>           APIResourceLists (CRDs appear once created)
  GET|POST   <collection>                    list / create (201; 409 if it exists)
  GET|PATCH  <collection>/<name>             read / merge patch (RFC 7386 only)
  GET|PATCH  /api/v1/nodes[/<name>]          the nodes given with --node

Rejected like the real API: unknown paths, groups and kinds (404); malformed
JSON, a body whose apiVersion/kind/namespace disagrees with the URL (400); a
missing metadata.name (422); a namespaced object in a namespace that does not
exist (404); a NodePort outside 30000-32767 or already allocated (422);
topologyKeys together with externalTrafficPolicy Local (422, as 1.17's
validation); a PATCH that is not application/merge-patch+json (415). With
--client-ca, a client certificate is required (TLS handshake).

Usage: kube-api-standin.py --port-file F --log L [--tls-cert C --tls-key K
       [--client-ca CA]] [--node NAME]... [--crd-delay S] [--listen ADDR:PORT]
       [--cluster-info-server URL --bootstrap-token-file F]

With --cluster-info-server (and --client-ca, the cluster CA), it also serves
kube-public/cluster-info signed for the bootstrap token, as kubeadm token
discovery expects, and lets clients without a certificate do only what the
real API lets anonymous clients and registering kubelets do.
"""
import argparse
import base64
import copy
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUILTIN = {
    # apiVersion: [(kind, plural, namespaced)]
    "v1": [("Namespace", "namespaces", False), ("Node", "nodes", False),
           ("PersistentVolume", "persistentvolumes", False), ("ServiceAccount", "serviceaccounts", True),
           ("ConfigMap", "configmaps", True), ("Secret", "secrets", True), ("Service", "services", True),
           ("PersistentVolumeClaim", "persistentvolumeclaims", True), ("Pod", "pods", True)],
    "apps/v1": [("Deployment", "deployments", True), ("StatefulSet", "statefulsets", True),
                ("DaemonSet", "daemonsets", True)],
    "batch/v1": [("Job", "jobs", True)],
    "policy/v1beta1": [("PodSecurityPolicy", "podsecuritypolicies", False),
                       ("PodDisruptionBudget", "poddisruptionbudgets", True)],
    "storage.k8s.io/v1": [("StorageClass", "storageclasses", False)],
    "apiextensions.k8s.io/v1": [("CustomResourceDefinition", "customresourcedefinitions", False)],
    "apiextensions.k8s.io/v1beta1": [("CustomResourceDefinition", "customresourcedefinitions", False)],
}
for v in ("rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1"):
    BUILTIN[v] = [("ClusterRole", "clusterroles", False), ("ClusterRoleBinding", "clusterrolebindings", False),
                  ("Role", "roles", True), ("RoleBinding", "rolebindings", True)]


class Store:
    def __init__(self, nodes, log_path, crd_delay):
        self.lock = threading.RLock()
        self.served = copy.deepcopy(BUILTIN)
        self.objects = {}       # (group, plural, ns, name) -> object
        self.rv = 1
        self.log_path = log_path
        self.log = []
        self.crd_delay = crd_delay
        for n in nodes:
            self.objects[("", "nodes", "", n)] = {
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": n, "labels": {"kubernetes.io/hostname": n}, "resourceVersion": "1"}}
        self.objects[("", "namespaces", "", "default")] = {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": "default", "resourceVersion": "1"}}
        self.objects[("", "namespaces", "", "kube-system")] = {"apiVersion": "v1", "kind": "Namespace",
                                                                "metadata": {"name": "kube-system", "resourceVersion": "1"}}

    def record(self, verb, obj, result):
        md = obj.get("metadata", {})
        self.log.append({"verb": verb, "apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                         "namespace": md.get("namespace"), "name": md.get("name"), "result": result,
                         "object": obj})
        tmp = self.log_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.log, f, indent=1)
        os.replace(tmp, self.log_path)

    def serve_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        versions = [v["name"] for v in spec.get("versions", []) if v.get("served", True)] or [spec.get("version")]

        def add():
            with self.lock:
                for v in versions:
                    gv = "%s/%s" % (spec["group"], v)
                    entry = (names["kind"], names["plural"], spec.get("scope") == "Namespaced")
                    if entry not in self.served.setdefault(gv, []):
                        self.served[gv].append(entry)
        if self.crd_delay > 0:      # the real API establishes a CRD asynchronously
            threading.Timer(self.crd_delay, add).start()
        else:
            add()


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                  "reason": reason, "code": code}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def validate(store, gv, kind, obj, key):
    """The subset of 1.17's validation the manifests can trip."""
    if kind != "Service":
        return None
    spec = obj.get("spec", {})
    if spec.get("topologyKeys") and spec.get("externalTrafficPolicy") == "Local":
        return status(422, "Invalid", "Service \"%s\" is invalid: spec.topologyKeys: Forbidden: may not be specified "
                      "when `externalTrafficPolicy=Local`" % obj["metadata"]["name"])
    for p in spec.get("ports", []):
        np = p.get("nodePort")
        if np is None:
            continue
        if spec.get("type") not in ("NodePort", "LoadBalancer"):
            return status(422, "Invalid", "spec.ports.nodePort: Forbidden: may not be used when `type` is 'ClusterIP'")
        if not 30000 <= np <= 32767:
            return status(422, "Invalid", "spec.ports.nodePort: Invalid value: %d: provided port is not in the valid "
                          "range. The range of valid ports is 30000-32767" % np)
        for k, other in store.objects.items():
            if k[1] != "services" or k == key:
                continue
            for q in other.get("spec", {}).get("ports", []):
                if q.get("nodePort") == np and q.get("protocol", "TCP") == p.get("protocol", "TCP"):
                    return status(422, "Invalid", "spec.ports.nodePort: Invalid value: %d: provided port is already "
                                  "allocated" % np)
    return None


class Handler(BaseHTTPRequestHandler):
    server_version = "kube-api-standin/1.17"
    protocol_version = "HTTP/1.1"

    # Requests without a client certificate get what the real API lets
    # system:anonymous and bootstrapping nodes do: health, version, the signed
    # cluster-info of kube-public (token discovery), and Node registration
    # (the kubelet stand-in; a real kubelet would use its client certificate).
    ANONYMOUS = {("GET", "/healthz"), ("GET", "/livez"), ("GET", "/readyz"), ("GET", "/version"),
                 ("GET", "/api/v1/namespaces/kube-public/configmaps/cluster-info"), ("POST", "/api/v1/nodes")}

    def forbidden_anonymous(self, verb):
        if not self.server.anonymous_gate:
            return False
        try:
            cert = self.connection.getpeercert()
        except (AttributeError, ValueError):
            cert = None
        if cert or (verb, self.path.split("?")[0].rstrip("/")) in self.ANONYMOUS:
            return False
        self.reply(*status(403, "Forbidden", 'forbidden: User "system:anonymous" cannot %s path "%s"'
                           % (verb.lower(), self.path)))
        return True

    def log_message(self, fmt, *args):
        sys.stderr.write("kube-api-standin: " + (fmt % args) + "\n")

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Standin", "kube-api-standin (not Kubernetes)")
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw)
        except ValueError as e:
            return e

    def route(self):
        """-> (gv, kind, plural, namespaced, ns, name) or a Status tuple."""
        st = self.server.store
        parts = [p for p in self.path.split("?")[0].split("/") if p]
        if parts[:1] == ["api"] and len(parts) >= 2:
            gv, rest = parts[1], parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            gv, rest = parts[1] + "/" + parts[2], parts[3:]
        else:
            return status(404, "NotFound", "the server could not find the requested resource")
        if gv not in st.served:
            return status(404, "NotFound", "the server could not find the requested resource")
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or len(rest) > 2:
            return status(404, "NotFound", "the server could not find the requested resource")
        for kind, plural, namespaced in st.served[gv]:
            if plural == rest[0] and namespaced == (ns is not None):
                return gv, kind, plural, namespaced, ns or "", (rest[1] if len(rest) == 2 else None)
        return status(404, "NotFound", "the server could not find the requested resource")

    def discovery(self):
        st = self.server.store
        p = self.path.split("?")[0].rstrip("/")
        if p in ("/healthz", "/livez", "/readyz"):
            return 200, "ok"
        if p == "/version":
            return 200, {"major": "1", "minor": "17", "gitVersion": "v1.17.3-standin", "platform": "linux/amd64"}
        if p == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if p == "/apis":
            groups = {}
            for gv in st.served:
                if "/" in gv:
                    g, v = gv.split("/")
                    groups.setdefault(g, []).append({"groupVersion": gv, "version": v})
            return 200, {"kind": "APIGroupList", "apiVersion": "v1",
                         "groups": [{"name": g, "versions": vs, "preferredVersion": vs[0]} for g, vs in groups.items()]}
        for gv, res in st.served.items():
            if p == ("/api/" if "/" not in gv else "/apis/") + gv:
                return 200, {"kind": "APIResourceList", "groupVersion": gv,
                             "resources": [{"name": pl, "namespaced": nsd, "kind": k,
                                            "verbs": ["create", "get", "list", "patch"]} for k, pl, nsd in res]}
        return None

    def do_GET(self):
        if self.forbidden_anonymous("GET"):
            return
        st = self.server.store
        with st.lock:
            d = self.discovery()
            if d:
                return self.reply(*d)
            r = self.route()
            if isinstance(r[0], int):
                return self.reply(*r)
            gv, kind, plural, _, ns, name = r
            group = gv.split("/")[0] if "/" in gv else ""
            if name is None:
                items = [o for (g, pl, n, _), o in st.objects.items() if g == group and pl == plural and (not ns or n == ns)]
                return self.reply(200, {"kind": kind + "List", "apiVersion": gv, "items": items})
            o = st.objects.get((group, plural, ns, name))
            if not o:
                return self.reply(*status(404, "NotFound", '%s "%s" not found' % (plural, name)))
            return self.reply(200, o)

    def check_body(self, obj, gv, kind, ns, name=None):
        if isinstance(obj, Exception) or not isinstance(obj, dict):
            return status(400, "BadRequest", "the body of the request was in an unknown format: %s" % obj)
        if obj.get("apiVersion") != gv or obj.get("kind") != kind:
            return status(400, "BadRequest", "the API version in the data (%s) does not match the expected API "
                          "version (%s) or kind %s != %s" % (obj.get("apiVersion"), gv, obj.get("kind"), kind))
        md = obj.get("metadata")
        if not isinstance(md, dict) or not md.get("name"):
            return status(422, "Invalid", "%s is invalid: metadata.name: Required value: name or generateName is "
                          "required" % kind)
        if name is not None and md["name"] != name:
            return status(400, "BadRequest", "the name of the object (%s) does not match the name on the URL (%s)"
                          % (md["name"], name))
        if ns and md.get("namespace", ns) != ns:
            return status(400, "BadRequest", "the namespace of the provided object does not match the namespace "
                          "sent on the request")
        return None

    def do_POST(self):
        if self.forbidden_anonymous("POST"):
            return
        st = self.server.store
        obj = self.body()
        with st.lock:
            r = self.route()
            if isinstance(r[0], int):
                return self.reply(*r)
            gv, kind, plural, namespaced, ns, name = r
            if name is not None:
                return self.reply(*status(405, "MethodNotAllowed", "POST to an object"))
            err = self.check_body(obj, gv, kind, ns)
            if err:
                return self.reply(*err)
            if namespaced and ("", "namespaces", "", ns) not in st.objects:
                return self.reply(*status(404, "NotFound", 'namespaces "%s" not found' % ns))
            group = gv.split("/")[0] if "/" in gv else ""
            key = (group, plural, ns, obj["metadata"]["name"])
            if key in st.objects:
                return self.reply(*status(409, "AlreadyExists", '%s "%s" already exists' % (plural, key[3])))
            err = validate(st, gv, kind, obj, key)
            if err:
                return self.reply(*err)
            st.rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(st.rv)
            if namespaced:
                obj["metadata"]["namespace"] = ns
            st.objects[key] = obj
            st.record("create", obj, 201)
            if kind == "CustomResourceDefinition":
                st.serve_crd(obj)
            return self.reply(201, obj)

    def do_PATCH(self):
        if self.forbidden_anonymous("PATCH"):
            return
        st = self.server.store
        obj = self.body()
        with st.lock:
            r = self.route()
            if isinstance(r[0], int):
                return self.reply(*r)
            gv, kind, plural, namespaced, ns, name = r
            if (self.headers.get("Content-Type") or "").split(";")[0] != "application/merge-patch+json":
                return self.reply(*status(415, "UnsupportedMediaType", "the stand-in takes merge patches only"))
            if name is None:
                return self.reply(*status(405, "MethodNotAllowed", "PATCH to a collection"))
            if isinstance(obj, Exception) or not isinstance(obj, dict):
                return self.reply(*status(400, "BadRequest", "malformed JSON: %s" % obj))
            group = gv.split("/")[0] if "/" in gv else ""
            key = (group, plural, ns, name)
            cur = st.objects.get(key)
            if not cur:
                return self.reply(*status(404, "NotFound", '%s "%s" not found' % (plural, name)))
            new = merge_patch(cur, obj)
            err = self.check_body(new, gv, kind, ns, name) or validate(st, gv, kind, new, key)
            if err:
                return self.reply(*err)
            new["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
            if new != cur:      # like the API: an unchanged object keeps its resourceVersion
                st.rv += 1
                new["metadata"]["resourceVersion"] = str(st.rv)
                st.objects[key] = new
            st.record("patch", new, 200 if new != cur else "unchanged")
            return self.reply(200, new)

    def do_PUT(self):
        self.reply(*status(405, "MethodNotAllowed", "the stand-in does not implement PUT"))

    def do_DELETE(self):
        self.reply(*status(405, "MethodNotAllowed", "the stand-in does not implement DELETE"))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def add_cluster_info(store, server, ca_pem, token):
    """kube-public/cluster-info as kubeadm init publishes it and the
    bootstrap signer signs it: a kubeconfig with the CA and the API URL, and
    jws-kubeconfig-<token-id>, a detached HS256 JWS keyed by the token."""
    tid, secret = token.split(".", 1)
    kubeconfig = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: %s\n"
                  "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n"
                  % (base64.b64encode(ca_pem).decode(), server))
    header = b64url(json.dumps({"alg": "HS256", "kid": tid}, separators=(",", ":")).encode())
    signing_input = header + "." + b64url(kubeconfig.encode())
    sig = b64url(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())
    for name in ("kube-public", "kube-node-lease"):
        store.objects[("", "namespaces", "", name)] = {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name, "resourceVersion": "1"}}
    store.objects[("", "configmaps", "kube-public", "cluster-info")] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public", "resourceVersion": "1"},
        "data": {"kubeconfig": kubeconfig, "jws-kubeconfig-" + tid: header + ".." + sig}}


def main():
    ap = argparse.ArgumentParser(description="Kubernetes API stand-in for tests (not Kubernetes)")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--client-ca")
    ap.add_argument("--node", action="append", default=[])
    ap.add_argument("--crd-delay", type=float, default=0)
    ap.add_argument("--listen", default="127.0.0.1:0", help="ADDR:PORT (default 127.0.0.1, any free port)")
    ap.add_argument("--cluster-info-server", help="serve kube-public/cluster-info naming this API URL, "
                    "signed for the token of --bootstrap-token-file, with --client-ca as the cluster CA")
    ap.add_argument("--bootstrap-token-file")
    a = ap.parse_args()
    host, _, port = a.listen.rpartition(":")
    srv = ThreadingHTTPServer((host, int(port)), Handler)
    srv.store = Store(a.node, a.log, a.crd_delay)
    srv.anonymous_gate = False
    if a.cluster_info_server:
        with open(a.bootstrap_token_file) as f:
            token = f.read().strip()
        with open(a.client_ca, "rb") as f:
            ca_pem = f.read()
        add_cluster_info(srv.store, a.cluster_info_server, ca_pem, token)
    with open(a.log, "w") as f:
        f.write("[]")
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.client_ca:
            ctx.load_verify_locations(a.client_ca)
            # with cluster-info served, anonymous clients may connect; the
            # handler then limits them to what the real API allows anonymous
            ctx.verify_mode = ssl.CERT_OPTIONAL if a.cluster_info_server else ssl.CERT_REQUIRED
            srv.anonymous_gate = bool(a.cluster_info_server)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    sys.stderr.write("kube-api-standin: a test stand-in, NOT Kubernetes, on %s:%d (%s)\n"
                     % (srv.server_address[0], srv.server_address[1], "https" if a.tls_cert else "http"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
