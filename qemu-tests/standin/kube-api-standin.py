#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kube-api-standin: a TEST STAND-IN for the Kubernetes 1.17 API server.

It is not Kubernetes. It answers the calls node-agent's manifests and
node-labels steps make (discovery, GET/POST/merge-PATCH of objects, nodes)
the way kube-apiserver does, strictly, and records every object written, in
order, to a JSON log the tests read:

  /version, /api, /apis                      version and group lists
  /api/v1, /apis/<group>/<version>           APIResourceLists (CRDs appear once created)
  GET|POST   <collection>                    list / create (201; 409 if it exists); a
                                             namespaced kind's list across namespaces, with
                                             fieldSelector=spec.nodeName=<node> (kubectl drain)
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
kube-public/cluster-info as kubeadm token discovery expects, and lets
clients without a certificate do only what the real API lets anonymous
clients and registering kubelets do. Bootstrap tokens are what they are in
a real cluster: `bootstrap-token-<id>` Secrets of type
bootstrap.kubernetes.io/token in kube-system. The token of
--bootstrap-token-file is registered at start as `kubeadm init` does (its
expiration --bootstrap-token-expires, else kubeadm's default 24 h), more
are created by POSTing Secrets (what `kubectl apply -f` of nodeos-seedgen's
tokens/*.yaml does), and cluster-info carries a jws-kubeconfig-<id>
signature for exactly the tokens the bootstrap signer would sign at the
moment of the GET: usage-bootstrap-signing "true", a well-formed id and
secret, the name bootstrap-token-<id>, and an expiration not passed
(k8s.io/cluster-bootstrap/token/api/types.go and the bootstrapsigner and
tokencleaner controllers of Kubernetes v1.17). An expired token's
signature is gone, so a join with it fails discovery as a real one would.
A Secret is checked as kubectl's schema validation checks it (an unknown
field is an error) and as the API server decodes it (data must be base64;
stringData is merged into data).

  DELETE <collection>/<name>                 delete (200 with a Status; 404 if absent)
"""
import argparse
import base64
import calendar
import copy
import hashlib
import hmac
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
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
        self.unsigned = {}      # token Secret name -> why the signer skips it (logged once per reason)
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
        if obj.get("kind") == "Secret":     # the log is read by tests and kept: no secret values in it
            obj = dict(obj, data={k: "<withheld>" for k in obj.get("data") or {}})
        self.log.append({"verb": verb, "apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                         "namespace": md.get("namespace"), "name": md.get("name"), "result": result,
                         "object": obj})
        tmp = self.log_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.log, f, indent=1)
        os.replace(tmp, self.log_path)

    def signed_cluster_info(self, cm):
        """cluster-info as the bootstrap signer keeps it: one detached HS256
        JWS of the kubeconfig per token it may sign with, now; no others."""
        cm = copy.deepcopy(cm)
        data = {k: v for k, v in cm.get("data", {}).items() if not k.startswith("jws-kubeconfig-")}
        now = time.time()
        for (g, pl, ns, name), o in sorted(self.objects.items()):
            if (g, pl, ns) != ("", "secrets", "kube-system") or not name.startswith("bootstrap-token-"):
                continue
            tok, why = signable_token(o, now)
            if tok:
                data["jws-kubeconfig-" + tok[0]] = jws_detached(data["kubeconfig"], tok[0], tok[1])
            elif why != self.unsigned.get(name):
                self.unsigned[name] = why
                sys.stderr.write("kube-api-standin: bootstrap signer: not signing with %s: %s\n" % (name, why))
        cm["data"] = data
        return cm

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


SECRET_FIELDS = {"apiVersion", "kind", "metadata", "type", "data", "stringData"}   # v1.Secret in 1.17 (no "immutable")
META_FIELDS = {"name", "namespace", "labels", "annotations", "generateName", "ownerReferences", "finalizers",
               "resourceVersion", "uid", "creationTimestamp"}


def normalize_secret(obj):
    """As the API server stores a Secret: stringData merged into data
    (base64), data checked to be base64. -> (object, None) or (None, Status)."""
    unknown = sorted(set(obj) - SECRET_FIELDS) + sorted("metadata." + k for k in set(obj.get("metadata") or {}) - META_FIELDS)
    if unknown:
        return None, status(400, "BadRequest", "error validating data: ValidationError(Secret): unknown field \"%s\" "
                            "in io.k8s.api.core.v1.Secret" % unknown[0])
    data = obj.get("data") or {}
    sdata = obj.get("stringData") or {}
    if not isinstance(data, dict) or not isinstance(sdata, dict):
        return None, status(400, "BadRequest", "Secret: data and stringData must be maps")
    out = copy.deepcopy(obj)
    out.pop("stringData", None)
    out["data"] = {}
    for k, v in data.items():
        try:
            base64.b64decode(v, validate=True)
        except (ValueError, TypeError):
            return None, status(400, "BadRequest", "Secret in version \"v1\" cannot be handled as a Secret: "
                                "illegal base64 data in data[%s]" % k)
        out["data"][k] = v
    for k, v in sdata.items():
        if not isinstance(v, str):
            return None, status(400, "BadRequest", "Secret: stringData[%s] must be a string" % k)
        out["data"][k] = base64.b64encode(v.encode()).decode()
    for k in out["data"]:
        if not re.fullmatch(r"[-._a-zA-Z0-9]+", k):
            return None, status(422, "Invalid", "Secret \"%s\" is invalid: data[%s]: Invalid value: a valid config "
                                "key must consist of alphanumeric characters, '-', '_' or '.'" % (obj["metadata"]["name"], k))
    out.setdefault("type", "Opaque")
    return out, None


def token_fields(secret):
    """The decoded data of a bootstrap token Secret."""
    out = {}
    for k, v in (secret.get("data") or {}).items():
        try:
            out[k] = base64.b64decode(v).decode()
        except (ValueError, UnicodeDecodeError):
            out[k] = None
    return out


def signable_token(secret, now):
    """(id, secret) if the bootstrap signer would sign with this Secret at
    time now, else (None, why)."""
    if secret.get("type") != "bootstrap.kubernetes.io/token":
        return None, "not of type bootstrap.kubernetes.io/token"
    d = token_fields(secret)
    tid, tsec = d.get("token-id") or "", d.get("token-secret") or ""
    if not re.fullmatch(r"[a-z0-9]{6}", tid) or not re.fullmatch(r"[a-z0-9]{16}", tsec):
        return None, "token-id or token-secret malformed"
    if secret["metadata"]["name"] != "bootstrap-token-" + tid:
        return None, "name is not bootstrap-token-" + tid
    if d.get("usage-bootstrap-signing") != "true":
        return None, "usage-bootstrap-signing is not \"true\""
    exp = d.get("expiration")
    if exp:
        try:
            when = calendar.timegm(time.strptime(exp, "%Y-%m-%dT%H:%M:%SZ"))
        except ValueError:
            return None, "expiration %r is not RFC 3339" % exp
        if when <= now:
            return None, "expired at " + exp
    return (tid, tsec), None


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
            # a namespaced kind without a namespace: the list across all namespaces
            if plural == rest[0] and (namespaced == (ns is not None) or (namespaced and len(rest) == 1)):
                return gv, kind, plural, namespaced, ns or "", (rest[1] if len(rest) == 2 else None)
        return status(404, "NotFound", "the server could not find the requested resource")

    def write_route(self):
        """route() for a write, or None once the Status reply is sent: no
        such resource, or a namespaced kind without its namespace."""
        r = self.route()
        if isinstance(r[0], int):
            self.reply(*r)
            return None
        if r[3] and not r[4]:
            self.reply(*status(404, "NotFound", "the server could not find the requested resource"))
            return None
        return r

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
                                            "verbs": ["create", "delete", "get", "list", "patch"]} for k, pl, nsd in res]}
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
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                for sel in q.get("fieldSelector", []):
                    for term in sel.split(","):
                        field, _, want = term.partition("=")
                        if field != "spec.nodeName":    # the only field selector kubectl drain sends
                            return self.reply(*status(400, "BadRequest", '"%s" is not a known field selector' % field))
                        items = [o for o in items if (o.get("spec") or {}).get("nodeName") == want]
                return self.reply(200, {"kind": kind + "List", "apiVersion": gv, "items": items})
            o = st.objects.get((group, plural, ns, name))
            if not o:
                return self.reply(*status(404, "NotFound", '%s "%s" not found' % (plural, name)))
            if (plural, ns, name) == ("configmaps", "kube-public", "cluster-info"):
                o = st.signed_cluster_info(o)
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
            r = self.write_route()
            if not r:
                return
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
            if kind == "Secret":
                obj, err = normalize_secret(obj)
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
            r = self.write_route()
            if not r:
                return
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
        if self.forbidden_anonymous("DELETE"):
            return
        st = self.server.store
        with st.lock:
            r = self.write_route()
            if not r:
                return
            gv, kind, plural, namespaced, ns, name = r
            if name is None:
                return self.reply(*status(405, "MethodNotAllowed", "the stand-in does not delete collections"))
            group = gv.split("/")[0] if "/" in gv else ""
            cur = st.objects.pop((group, plural, ns, name), None)
            if not cur:
                return self.reply(*status(404, "NotFound", '%s "%s" not found' % (plural, name)))
            st.record("delete", cur, 200)
            return self.reply(200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                                    "details": {"name": name, "kind": plural}})


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jws_detached(payload, tid, secret):
    """A detached HS256 JWS keyed by the token's secret, as the bootstrap
    signer writes it (k8s.io/cluster-bootstrap/token/jws)."""
    header = b64url(json.dumps({"alg": "HS256", "kid": tid}, separators=(",", ":")).encode())
    signing_input = header + "." + b64url(payload.encode())
    return header + ".." + b64url(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())


def add_cluster_info(store, server, ca_pem, token, expires):
    """What kubeadm init leaves for token discovery: kube-public/cluster-info
    (a kubeconfig with the CA and the API URL; the bootstrap signer adds
    the signatures, see Store.signed_cluster_info) and the init token as a
    bootstrap-token-<id> Secret expiring at expires (RFC 3339 UTC)."""
    tid, secret = token.split(".", 1)
    kubeconfig = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: %s\n"
                  "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n"
                  % (base64.b64encode(ca_pem).decode(), server))
    for name in ("kube-public", "kube-node-lease"):
        store.objects[("", "namespaces", "", name)] = {"apiVersion": "v1", "kind": "Namespace",
                                                        "metadata": {"name": name, "resourceVersion": "1"}}
    store.objects[("", "configmaps", "kube-public", "cluster-info")] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cluster-info", "namespace": "kube-public", "resourceVersion": "1"},
        "data": {"kubeconfig": kubeconfig}}
    fields = {"description": "The default bootstrap token generated by 'kubeadm init'.", "token-id": tid,
              "token-secret": secret, "expiration": expires, "usage-bootstrap-authentication": "true",
              "usage-bootstrap-signing": "true", "auth-extra-groups": "system:bootstrappers:kubeadm:default-node-token"}
    store.objects[("", "secrets", "kube-system", "bootstrap-token-" + tid)] = {
        "apiVersion": "v1", "kind": "Secret", "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": "bootstrap-token-" + tid, "namespace": "kube-system", "resourceVersion": "1"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in fields.items()}}


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
    ap.add_argument("--bootstrap-token-expires", help="RFC 3339 UTC expiration of that token (default: 24 h from "
                    "now, kubeadm's default ttl)")
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
        expires = a.bootstrap_token_expires or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", expires):
            ap.error("--bootstrap-token-expires: want RFC 3339 UTC (2006-01-02T15:04:05Z), got %r" % expires)
        add_cluster_info(srv.store, a.cluster_info_server, ca_pem, token, expires)
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
