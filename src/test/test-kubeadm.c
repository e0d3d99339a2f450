/* SPDX-License-Identifier: Apache-2.0 */
/* The cluster bootstrap: kubeadm configurations rendered for every role and
 * both topologies, the kubeadm step (plan position, offline rendering, a
 * fake kubeadm on PATH for the live paths), and the join preflight's
 * verdicts against a small in-test HTTPS API (libssl loaded with dlopen,
 * because the agent itself only links libcrypto). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include "agent/joincheck.h"
#include "agent/plan.h"
#include "basic/clock.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/kube.h"
#include "shared/pki.h"
#include "shared/validate.h"
#include "shared/renderer.h"
#include "shared/role.h"
#include "shared/yamlnode.h"
#include "test-util.h"

/* ---- helpers --------------------------------------------------------------- */

static struct role_catalog *catalog;

static int load_catalog(void **state) {
        (void) state;
        struct diag d = {};
        int r = role_catalog_load("roles", &catalog, &d);
        diag_done(&d);
        return r < 0 ? -1 : 0;
}

static int free_catalog(void **state) {
        (void) state;
        role_catalog_free(catalog);
        return 0;
}

static struct node_config *load_seed_dir(const char *dir) {
        struct diag d = {};
        struct node_config *c = NULL;
        _cleanup_strv_free_ char **names = role_catalog_names(catalog);
        int r = config_load_dir(dir, names, &c, &d);
        if (r >= 0)
                r = role_check_config(catalog, c, &d);
        for (size_t i = 0; i < diag_count(&d); i++)
                fprintf(stderr, "%s\n", d.lines[i]);
        assert_int_equal(r, 0);
        assert_int_equal(diag_count(&d), 0);
        diag_done(&d);
        return c;
}

static struct node_config *parse_seed(const char *user_data) {
        static const char meta[] = "instance-id: test-1\n";
        struct diag d = {};
        struct node_config *c = NULL;
        _cleanup_strv_free_ char **names = role_catalog_names(catalog);
        int r = config_parse(meta, strlen(meta), "meta-data", user_data, strlen(user_data), "user-data", names, &c, &d);
        if (r >= 0)
                r = role_check_config(catalog, c, &d);
        for (size_t i = 0; i < diag_count(&d); i++)
                fprintf(stderr, "%s\n", d.lines[i]);
        assert_int_equal(r, 0);
        diag_done(&d);
        return c;
}

static char *render(const char *renderer, const struct node_config *c) {
        const struct renderer *rd = renderer_find(renderer);
        assert_non_null(rd);
        struct render_ctx ctx = { .config = c, .role = role_catalog_find(catalog, c->role), .catalog = catalog };
        char *text = NULL, *error = NULL;
        int r = rd->render(&ctx, &text, &error);
        if (r < 0)
                fprintf(stderr, "%s: %s\n", renderer, error ? error : "?");
        free(error);
        assert_int_equal(r, 0);
        return text;
}

/* The documents of a multi-document YAML text, by kind. */
struct docs {
        size_t n;
        struct ynode *doc[8];
};

static void docs_parse(const char *text, struct docs *ds) {
        *ds = (struct docs) {};
        _cleanup_free_ char *copy = strdup(text);
        char *p = copy;
        for (;;) {
                char *sep = strstr(p, "\n---\n");
                if (sep)
                        sep[1] = 0;
                struct diag d = {};
                assert_true(ds->n < ELEMENTSOF(ds->doc));
                assert_int_equal(ynode_parse(p, strlen(p), "rendered", &ds->doc[ds->n++], &d), 0);
                diag_done(&d);
                if (!sep)
                        break;
                p = sep + 5;
        }
}

static void docs_done(struct docs *ds) {
        for (size_t i = 0; i < ds->n; i++)
                ynode_free(ds->doc[i]);
}

static const struct ynode *docs_kind(const struct docs *ds, const char *api_version, const char *kind) {
        const struct ynode *found = NULL;
        for (size_t i = 0; i < ds->n; i++) {
                const struct ynode *a = ynode_get(ds->doc[i], "apiVersion"), *k = ynode_get(ds->doc[i], "kind");
                if (a && k && STREQ(a->value, api_version) && STREQ(k->value, kind)) {
                        assert_null(found);     /* exactly one */
                        found = ds->doc[i];
                }
        }
        assert_non_null(found);
        return found;
}

/* Scalar at a dotted path ("networking.podSubnet"); NULL if absent. */
static const char *at(const struct ynode *n, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        for (char *k = strtok_r(copy, ".", &save); k && n; k = strtok_r(NULL, ".", &save))
                n = n->kind == YNODE_MAPPING ? ynode_get(n, k) : NULL;
        return n && n->kind == YNODE_SCALAR ? n->value : NULL;
}

static const struct ynode *node_at(const struct ynode *n, const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        char *save = NULL;
        for (char *k = strtok_r(copy, ".", &save); k && n; k = strtok_r(NULL, ".", &save))
                n = n->kind == YNODE_MAPPING ? ynode_get(n, k) : NULL;
        return n;
}

/* The example seeds of every Kubernetes role (kubernetes: init or join) of
 * roles/, both topologies where the role has an example: a new strv. */
static char **kube_seed_dirs(void) {
        char **l = NULL;
        _cleanup_strv_free_ char **roles = test_role_names();
        STRV_FOREACH(r, roles) {
                const struct role *role = role_catalog_find(catalog, *r);
                assert_non_null(role);
                if (STREQ(role->kubernetes, "none"))
                        continue;
                _cleanup_strv_free_ char **examples = test_role_examples(*r);
                STRV_FOREACH(e, examples)
                        assert_int_equal(strv_extend(&l, *e), 0);
        }
        assert_non_null(l);
        return l;
}

/* How many roles of the catalog join the cluster. */
static size_t joining_roles(void) {
        size_t n = 0;
        for (size_t i = 0; i < catalog->n; i++)
                n += STREQ(catalog->roles[i]->kubernetes, "join");
        return n;
}

/* ---- rendering --------------------------------------------------------------- */

static void init_config_has_the_cluster_settings_in_both_topologies(void **state) {
        (void) state;
        const char *dirs[] = { "cloud-init/examples/master", "cloud-init/examples/few-devices/master" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                struct node_config *c = load_seed_dir(dirs[i]);
                _cleanup_free_ char *text = render("kubeadm-init", c);
                struct docs ds;
                docs_parse(text, &ds);
                assert_int_equal(ds.n, 4);
                const struct ynode *ic = docs_kind(&ds, "kubeadm.k8s.io/v1beta2", "InitConfiguration");
                const struct ynode *cc = docs_kind(&ds, "kubeadm.k8s.io/v1beta2", "ClusterConfiguration");
                const struct ynode *kc = docs_kind(&ds, "kubelet.config.k8s.io/v1beta1", "KubeletConfiguration");
                const struct ynode *pc = docs_kind(&ds, "kubeproxy.config.k8s.io/v1alpha1", "KubeProxyConfiguration");

                /* docs/dojot-v0.5.0.md#networks */
                assert_string_equal(at(cc, "networking.podSubnet"), "10.244.0.0/16");
                assert_string_equal(at(cc, "networking.serviceSubnet"), "10.96.0.0/12");
                assert_string_equal(at(cc, "networking.podSubnet"), c->cluster.pod_subnet);
                assert_string_equal(at(cc, "kubernetesVersion"), "v1.17.3");
                assert_string_equal(at(cc, "imageRepository"), NODEOS_IMAGE_REPOSITORY);
                const char *comps[] = { "apiServer", "controllerManager", "scheduler" };
                for (size_t j = 0; j < ELEMENTSOF(comps); j++) {
                        _cleanup_free_ char *p = NULL;
                        assert_true(asprintf(&p, "%s.extraArgs.feature-gates", comps[j]) > 0);
                        assert_string_equal(at(cc, p), "ServiceTopology=true,EndpointSlice=true");
                }
                assert_string_equal(at(pc, "featureGates.ServiceTopology"), "true");
                assert_string_equal(at(pc, "featureGates.EndpointSlice"), "true");
                assert_string_equal(at(pc, "mode"), "iptables");

                /* the token, the advertise address and the master's taint */
                const struct ynode *bt = node_at(ic, "bootstrapTokens");
                assert_non_null(bt);
                assert_int_equal(bt->kind, YNODE_SEQUENCE);
                assert_string_equal(at(bt->items[0], "token"), secret_reveal(&c->cluster.token));
                assert_non_null(at(bt->items[0], "expires"));   /* the seed's token_expires, not a TTL */
                assert_null(at(bt->items[0], "ttl"));
                assert_string_equal(at(ic, "localAPIEndpoint.advertiseAddress"), c->cluster.advertise_address);
                assert_string_equal(at(ic, "localAPIEndpoint.bindPort"), "6443");
                assert_string_equal(at(ic, "nodeRegistration.name"), c->hostname);
                assert_string_equal(at(ic, "nodeRegistration.criSocket"), "/var/run/dockershim.sock");
                const struct ynode *taints = node_at(ic, "nodeRegistration.taints");
                assert_non_null(taints);
                assert_string_equal(at(taints->items[0], "key"), "node-role.kubernetes.io/master");
                assert_string_equal(at(taints->items[0], "effect"), "NoSchedule");
                assert_string_equal(at(ic, "nodeRegistration.kubeletExtraArgs.pod-infra-container-image"), NODEOS_PAUSE_IMAGE);

                /* kubelet and docker agree on the cgroup driver (docs/dojot-v0.5.0.md#cgroup-driver) */
                _cleanup_free_ char *daemon = render("docker-daemon", c);
                cJSON *dj = cJSON_Parse(daemon);
                assert_non_null(dj);
                const cJSON *opts = cJSON_GetObjectItem(dj, "exec-opts");
                const char *driver = NULL;
                const cJSON *o;
                cJSON_ArrayForEach(o, opts)
                        if (cJSON_IsString(o) && strncmp(o->valuestring, "native.cgroupdriver=", 20) == 0)
                                driver = o->valuestring + 20;
                assert_non_null(driver);
                assert_string_equal(at(kc, "cgroupDriver"), driver);
                cJSON_Delete(dj);
                docs_done(&ds);
                config_free(c);
        }
}

static void join_config_pins_the_ca_and_labels_the_group_for_every_worker(void **state) {
        (void) state;
        size_t joins = 0;
        _cleanup_strv_free_ char **dirs = kube_seed_dirs();
        STRV_FOREACH(dir, dirs) {
                struct node_config *c = load_seed_dir(*dir);
                const struct role *role = role_catalog_find(catalog, c->role);
                if (!STREQ(role->kubernetes, "join")) {
                        config_free(c);
                        continue;
                }
                joins++;
                _cleanup_free_ char *text = render("kubeadm-join", c), *label = NULL;
                struct docs ds;
                docs_parse(text, &ds);
                assert_int_equal(ds.n, 1);
                const struct ynode *jc = docs_kind(&ds, "kubeadm.k8s.io/v1beta2", "JoinConfiguration");
                assert_string_equal(at(jc, "discovery.bootstrapToken.token"), secret_reveal(&c->cluster.token));
                assert_string_equal(at(jc, "discovery.bootstrapToken.apiServerEndpoint"), c->cluster.api_endpoint);
                const struct ynode *h = node_at(jc, "discovery.bootstrapToken.caCertHashes");
                assert_non_null(h);
                assert_int_equal(h->n, strv_length(c->cluster.ca_cert_hashes));
                assert_string_equal(h->items[0]->value, c->cluster.ca_cert_hashes[0]);
                assert_null(node_at(jc, "discovery.bootstrapToken.unsafeSkipCAVerification"));
                assert_null(strstr(text, "unsafeSkipCAVerification"));
                assert_string_equal(at(jc, "nodeRegistration.name"), c->hostname);
                assert_true(asprintf(&label, "dojot.components/group=%s", role->group) > 0);
                assert_string_equal(at(jc, "nodeRegistration.kubeletExtraArgs.node-labels"), label);
                assert_string_equal(at(jc, "nodeRegistration.kubeletExtraArgs.pod-infra-container-image"), NODEOS_PAUSE_IMAGE);
                /* kubelets 1.16+ refuse to self-apply node-role labels */
                assert_null(strstr(text, "node-role.kubernetes.io"));
                docs_done(&ds);
                config_free(c);
        }
        /* not vacuous: no fewer join seeds than joining roles (5 seeds, 4 roles when written) */
        assert_true(joins >= joining_roles() && joining_roles() > 0);
}

static void every_kubernetes_role_preloads_the_pinned_pause_and_control_plane_images(void **state) {
        (void) state;
        for (size_t i = 0; i < catalog->n; i++) {
                const struct role *r = catalog->roles[i];
                if (STREQ(r->kubernetes, "none"))
                        continue;
                assert_true(strv_contains(r->images, NODEOS_PAUSE_IMAGE));
                if (STREQ(r->kubernetes, "init"))
                        assert_true(strv_contains(r->images, NODEOS_IMAGE_REPOSITORY "/kube-apiserver:" NODEOS_KUBERNETES_VERSION));
        }
}

static void plan_runs_kubeadm_after_services_and_images_only_on_kubernetes_roles(void **state) {
        (void) state;
        const char *dirs[] = { "cloud-init/examples/master", "cloud-init/examples/verne", "cloud-init/examples/lb",
                               "cloud-init/examples/few-devices/lb" };
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                struct node_config *c = load_seed_dir(dirs[i]);
                const struct role *role = role_catalog_find(catalog, c->role);
                struct plan p;
                assert_int_equal(plan_build(c, role, &p), 0);
                ssize_t k = -1, services = -1, images = -1;
                for (size_t j = 0; j < p.n; j++) {
                        if (STREQ(p.steps[j].name, "kubeadm"))
                                k = (ssize_t) j;
                        else if (STREQ(p.steps[j].name, "services"))
                                services = (ssize_t) j;
                        else if (STREQ(p.steps[j].name, "images"))
                                images = (ssize_t) j;
                }
                if (STREQ(role->kubernetes, "none"))
                        assert_int_equal(k, -1);
                else {
                        assert_true(k > services && k > images);
                        assert_ptr_equal(p.steps[k].type, &step_type_kubeadm);
                }
                plan_done(&p);
                config_free(c);
        }
}

/* ---- pki ---------------------------------------------------------------------- */

static void jws_matches_the_cluster_bootstrap_known_answers(void **state) {
        (void) state;
        /* the vectors of k8s.io/cluster-bootstrap token/jws (v1.17.3) */
        const char *content = "Hello from the other side. I must have called a thousand times.";
        const char *key = "my voice is my passcode";
        _cleanup_free_ char *a = pki_jws_hs256_detached(content, strlen(content), "joshua", key, strlen(key));
        _cleanup_free_ char *b = pki_jws_hs256_detached("", 0, "joshua", key, strlen(key));
        _cleanup_free_ char *c = pki_jws_hs256_detached(content, strlen(content), "joshua", "", 0);
        assert_string_equal(a, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..VShe2taLd-YTrmWuRkcL_8QTNDHYxQIEBsAYYiIj1_8");
        assert_string_equal(b, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..7Ui1ALizW4jXphVUB7xUqC9vLYLL9RZeOFfVLoB7Tgk");
        assert_string_equal(c, "eyJhbGciOiJIUzI1NiIsImtpZCI6Impvc2h1YSJ9..UfkqvDGiIFxrMnFseDj9LYJOLNrvjW8aHhF71mvvAs8");
}

static void token_format_is_checked(void **state) {
        (void) state;
        assert_true(bootstrap_token_is_valid("abcdef.0123456789abcdef"));
        assert_false(bootstrap_token_is_valid("abcdef.0123456789abcde"));
        assert_false(bootstrap_token_is_valid("ABCDEF.0123456789abcdef"));
        assert_false(bootstrap_token_is_valid("abcdef:0123456789abcdef"));
        assert_false(bootstrap_token_is_valid(NULL));
}

/* ---- a throwaway CA, server certificates and an HTTPS API -------------------- */

struct ca {
        char *cert_pem;
        secret key_pem;
        char *hash;
};

static void ca_make(struct ca *ca) {
        *ca = (struct ca) {};
        assert_int_equal(pki_make_ca(&ca->cert_pem, &ca->key_pem), 0);
        assert_int_equal(pki_ca_cert_hash(ca->cert_pem, &ca->hash), 0);
}

static void ca_done(struct ca *ca) {
        free(ca->cert_pem);
        secret_clear(&ca->key_pem);
        free(ca->hash);
}

/* A P-256 server certificate for IP 127.0.0.1 signed by ca. */
static void server_cert(const struct ca *ca, X509 **ret_cert, EVP_PKEY **ret_key) {
        BIO *kb = BIO_new_mem_buf(secret_reveal(&ca->key_pem), -1), *cb = BIO_new_mem_buf(ca->cert_pem, -1);
        EVP_PKEY *ca_key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
        X509 *ca_cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
        EVP_PKEY *key = EVP_EC_gen("P-256");
        X509 *cert = X509_new();
        assert_non_null(ca_key);
        assert_non_null(ca_cert);
        assert_non_null(key);
        ASN1_INTEGER_set(X509_get_serialNumber(cert), 2);
        X509_set_version(cert, 2);
        X509_gmtime_adj(X509_getm_notBefore(cert), -300);
        X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
        X509_set_pubkey(cert, key);
        X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC, (const unsigned char *) "kube-apiserver", -1, -1, 0);
        X509_set_issuer_name(cert, X509_get_subject_name(ca_cert));
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, ca_cert, cert, NULL, NULL, 0);
        X509_EXTENSION *san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, "IP:127.0.0.1");
        assert_non_null(san);
        X509_add_ext(cert, san, -1);
        X509_EXTENSION_free(san);
        assert_true(X509_sign(cert, ca_key, EVP_sha256()) > 0);
        EVP_PKEY_free(ca_key);
        X509_free(ca_cert);
        BIO_free(kb);
        BIO_free(cb);
        *ret_cert = cert;
        *ret_key = key;
}

/* libssl, resolved at run time */
static struct {
        void *h;
        __typeof__(&TLS_server_method) server_method;
        __typeof__(&SSL_CTX_new) ctx_new;
        __typeof__(&SSL_CTX_free) ctx_free;
        __typeof__(&SSL_CTX_use_certificate) use_cert;
        __typeof__(&SSL_CTX_use_PrivateKey) use_key;
        __typeof__(&SSL_new) ssl_new;
        __typeof__(&SSL_free) ssl_free;
        __typeof__(&SSL_set_fd) set_fd;
        __typeof__(&SSL_accept) accept;
        __typeof__(&SSL_read) read;
        __typeof__(&SSL_write) write;
        __typeof__(&SSL_shutdown) shutdown;
} ssl;

static void ssl_load(void) {
        if (ssl.h)
                return;
        ssl.h = dlopen("libssl.so.3", RTLD_NOW);
        assert_non_null(ssl.h);
#define SYM(f, name) assert_non_null(*(void **) &ssl.f = dlsym(ssl.h, name))
        SYM(server_method, "TLS_server_method");
        SYM(ctx_new, "SSL_CTX_new");
        SYM(ctx_free, "SSL_CTX_free");
        SYM(use_cert, "SSL_CTX_use_certificate");
        SYM(use_key, "SSL_CTX_use_PrivateKey");
        SYM(ssl_new, "SSL_new");
        SYM(ssl_free, "SSL_free");
        SYM(set_fd, "SSL_set_fd");
        SYM(accept, "SSL_accept");
        SYM(read, "SSL_read");
        SYM(write, "SSL_write");
        SYM(shutdown, "SSL_shutdown");
#undef SYM
}

struct api {
        int fd, port;
        pthread_t thread;
        volatile int stop;
        SSL_CTX *ctx;
        pthread_mutex_t lock;
        int info_status;        /* cluster-info answer */
        char *info_body;
        unsigned info_hits;
        char endpoint[32];
};

static void *api_serve(void *arg) {
        struct api *a = arg;
        while (!a->stop) {
                struct pollfd p = { .fd = a->fd, .events = POLLIN };
                if (poll(&p, 1, 50) <= 0)
                        continue;
                int c = accept(a->fd, NULL, NULL);
                if (c < 0)
                        continue;
                struct timeval tv = { 5, 0 };
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
                SSL *s = ssl.ssl_new(a->ctx);
                ssl.set_fd(s, c);
                if (ssl.accept(s) == 1) {
                        char req[4096];
                        int n = 0, k;
                        while (n < (int) sizeof(req) - 1 && (k = ssl.read(s, req + n, (int) sizeof(req) - 1 - n)) > 0) {
                                n += k;
                                req[n] = 0;
                                if (strstr(req, "\r\n\r\n"))
                                        break;
                        }
                        req[n] = 0;
                        int status = 404;
                        _cleanup_free_ char *body = strdup("{\"kind\":\"Status\",\"code\":404}"), *resp = NULL;
                        pthread_mutex_lock(&a->lock);
                        if (strncmp(req, "GET /api/v1/namespaces/kube-public/configmaps/cluster-info ", 59) == 0) {
                                a->info_hits++;
                                status = a->info_status;
                                free(body);
                                body = strdup(a->info_body ? a->info_body : "");
                        } else if (strncmp(req, "GET /healthz ", 13) == 0) {
                                status = 200;
                                free(body);
                                body = strdup("ok");
                        }
                        pthread_mutex_unlock(&a->lock);
                        int len = asprintf(&resp, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                           status, strlen(body), body);
                        if (len > 0)
                                ssl.write(s, resp, len);
                        ssl.shutdown(s);
                }
                ssl.ssl_free(s);
                close(c);
        }
        return NULL;
}

static void api_start(struct api *a, const struct ca *ca) {
        ssl_load();
        *a = (struct api) { .info_status = 200 };
        pthread_mutex_init(&a->lock, NULL);
        X509 *cert;
        EVP_PKEY *key;
        server_cert(ca, &cert, &key);
        a->ctx = ssl.ctx_new(ssl.server_method());
        assert_non_null(a->ctx);
        assert_int_equal(ssl.use_cert(a->ctx, cert), 1);
        assert_int_equal(ssl.use_key(a->ctx, key), 1);
        X509_free(cert);
        EVP_PKEY_free(key);
        a->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        assert_int_equal(bind(a->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(a->fd, 16), 0);
        assert_int_equal(getsockname(a->fd, (struct sockaddr *) &sa, &sl), 0);
        a->port = ntohs(sa.sin_port);
        snprintf(a->endpoint, sizeof(a->endpoint), "127.0.0.1:%d", a->port);
        assert_int_equal(pthread_create(&a->thread, NULL, api_serve, a), 0);
}

static void api_set_info(struct api *a, int status, const char *body) {
        pthread_mutex_lock(&a->lock);
        a->info_status = status;
        free(a->info_body);
        a->info_body = body ? strdup(body) : NULL;
        pthread_mutex_unlock(&a->lock);
}

static void api_stop(struct api *a) {
        a->stop = 1;
        pthread_join(a->thread, NULL);
        close(a->fd);
        ssl.ctx_free(a->ctx);
        free(a->info_body);
        pthread_mutex_destroy(&a->lock);
}

/* What the API serves as kube-public/cluster-info: a kubeconfig carrying
 * ca's certificate, and a signature per signer token ("" for none; a token
 * signs with its own id and secret). */
static char *cluster_info_json(const struct api *a, const struct ca *ca, const char *signer) {
        _cleanup_free_ char *b64 = malloc(4 * ((strlen(ca->cert_pem) + 2) / 3) + 1), *kubeconfig = NULL;
        assert_non_null(b64);
        EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) ca->cert_pem, (int) strlen(ca->cert_pem));
        assert_true(asprintf(&kubeconfig,
                             "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: %s\n    server: https://%s\n"
                             "  name: \"\"\ncontexts: null\ncurrent-context: \"\"\nkind: Config\npreferences: {}\nusers: null\n",
                             b64, a->endpoint) > 0);
        cJSON *cm = cJSON_CreateObject(), *data = cJSON_CreateObject();
        cJSON_AddStringToObject(cm, "kind", "ConfigMap");
        cJSON_AddStringToObject(cm, "apiVersion", "v1");
        cJSON_AddItemToObject(cm, "data", data);
        cJSON_AddStringToObject(data, "kubeconfig", kubeconfig);
        if (signer && *signer) {
                secret t = {};
                char key[32];
                assert_int_equal(secret_set(&t, signer), 0);
                _cleanup_free_ char *sig = pki_bootstrap_jws(kubeconfig, strlen(kubeconfig), &t);
                assert_non_null(sig);
                snprintf(key, sizeof(key), "jws-kubeconfig-%.6s", signer);
                cJSON_AddStringToObject(data, key, sig);
                secret_clear(&t);
        }
        char *s = cJSON_PrintUnformatted(cm);
        cJSON_Delete(cm);
        return s;
}

#define TOKEN "k7x2qa.0123456789abcdef"
#define WRONG_SECRET "k7x2qa.fedcba9876543210"
#define OTHER_TOKEN "zz9zz9.0123456789abcdef"

static void quick_options(struct joincheck_options *o) {
        joincheck_options_default(o);
        o->attempt_timeout_ms = 2000;
        o->backoff_ms = 100;
        o->backoff_max_ms = 400;
        o->total_ms = 1500;
        o->unsigned_grace_ms = 0;
}

/* A join preflight against a local API server that pins ca: the token,
 * the pins, quick retry options, an empty result. */
struct preflight {
        struct ca ca;
        struct api a;
        secret token;
        char *pins[2];
        struct joincheck_options o;
        struct joincheck_result res;
};

static void preflight_start(struct preflight *p) {
        *p = (struct preflight) {};
        ca_make(&p->ca);
        api_start(&p->a, &p->ca);
        assert_int_equal(secret_set(&p->token, TOKEN), 0);
        p->pins[0] = p->ca.hash;
        quick_options(&p->o);
}

static int preflight_run(struct preflight *p) {
        joincheck_result_done(&p->res);
        p->res = (struct joincheck_result) {};
        return joincheck_run(p->a.endpoint, &p->token, p->pins, &p->o, &p->res);
}

static void preflight_stop(struct preflight *p) {
        joincheck_result_done(&p->res);
        api_stop(&p->a);
        secret_clear(&p->token);
        ca_done(&p->ca);
}

struct verdict_case {
        const char *signer;     /* token that signed cluster-info */
        bool other_ca;          /* cluster-info carries another CA than the pinned one */
        enum joincheck_verdict want;
        const char *want_text;
};

static void join_preflight_gives_one_verdict_per_cause(void **state) {
        (void) state;
        struct preflight p;
        struct ca other;
        preflight_start(&p);
        ca_make(&other);
        const struct verdict_case cases[] = {
                { TOKEN, false, JOINCHECK_OK, "token signature and CA pin verified" },
                { WRONG_SECRET, false, JOINCHECK_TOKEN_REJECTED, "does not match its secret" },
                { OTHER_TOKEN, false, JOINCHECK_TOKEN_UNSIGNED, "cluster-info has no signature for token id k7x2qa" },
                { "", false, JOINCHECK_TOKEN_UNSIGNED, "cluster-info has no signature for token id k7x2qa" },
                { TOKEN, true, JOINCHECK_CA_MISMATCH, "does not match the pinned hash" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *json = cluster_info_json(&p.a, cases[i].other_ca ? &other : &p.ca, cases[i].signer);
                api_set_info(&p.a, 200, json);
                int r = preflight_run(&p);
                const struct joincheck_result *res = &p.res;
                if (res->verdict != cases[i].want)
                        fprintf(stderr, "case %zu: %s: %s\n", i, joincheck_verdict_to_string(res->verdict), res->detail);
                assert_int_equal(res->verdict, cases[i].want);
                assert_int_equal(r == 0, cases[i].want == JOINCHECK_OK);
                assert_non_null(strstr(res->detail, cases[i].want_text));
                /* one line, naming the endpoint, never the secret */
                assert_null(strchr(res->detail, '\n'));
                assert_non_null(strstr(res->detail, p.a.endpoint));
                assert_null(strstr(res->detail, "0123456789abcdef"));
                if (cases[i].want == JOINCHECK_TOKEN_REJECTED || cases[i].want == JOINCHECK_TOKEN_UNSIGNED) {
                        _cleanup_free_ char *want = NULL;
                        assert_true(asprintf(&want, "bootstrap token not accepted by %s (expired or wrong)", p.a.endpoint) > 0);
                        assert_non_null(strstr(res->detail, want));
                }
                if (cases[i].want == JOINCHECK_CA_MISMATCH) {
                        assert_non_null(strstr(res->detail, p.ca.hash)); /* expected */
                        assert_non_null(strstr(res->detail, other.hash)); /* actual */
                }
                /* final verdicts are not retried */
                assert_int_equal(res->attempts, 1);
        }
        preflight_stop(&p);
        ca_done(&other);
}

static void join_preflight_waits_for_a_missing_signature_within_its_grace(void **state) {
        (void) state;
        struct preflight p;
        preflight_start(&p);
        _cleanup_free_ char *json = cluster_info_json(&p.a, &p.ca, "");
        api_set_info(&p.a, 200, json);
        p.o.unsigned_grace_ms = 600;
        assert_int_equal(preflight_run(&p), -EACCES);
        assert_int_equal(p.res.verdict, JOINCHECK_TOKEN_UNSIGNED);
        assert_true(p.res.attempts >= 3);
        preflight_stop(&p);
}

static void join_preflight_retries_an_unpublished_cluster_info_until_the_cap(void **state) {
        (void) state;
        struct preflight p;
        preflight_start(&p);
        api_set_info(&p.a, 404, "{\"kind\":\"Status\",\"code\":404}");
        assert_int_equal(preflight_run(&p), -ENOENT);
        assert_int_equal(p.res.verdict, JOINCHECK_NOT_PUBLISHED);
        assert_true(p.res.attempts >= 3);
        assert_int_equal(p.a.info_hits, p.res.attempts);
        assert_non_null(strstr(p.res.detail, "overall time limit"));
        preflight_stop(&p);
}

static int closed_port(void) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof(sa);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sa, &sl), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static void join_preflight_backs_off_on_an_unreachable_endpoint_until_the_token_expires(void **state) {
        (void) state;
        secret token = {};
        assert_int_equal(secret_set(&token, TOKEN), 0);
        char *pins[] = { "sha256:0000000000000000000000000000000000000000000000000000000000000000", NULL };
        char ep[32];
        snprintf(ep, sizeof(ep), "127.0.0.1:%d", closed_port());
        struct joincheck_options o;
        struct joincheck_result res = {};
        quick_options(&o);
        o.total_ms = 60000;                     /* the expiry, 2 s away, is the bound */
        o.token_expires = time(NULL) + 2;
        long long t0 = now_ms();
        assert_true(joincheck_run(ep, &token, pins, &o, &res) < 0);
        long long el = now_ms() - t0;
        assert_int_equal(res.verdict, JOINCHECK_UNREACHABLE);
        assert_true(el < 4000);
        assert_true(res.attempts >= 3 && res.attempts <= 8);    /* 100, 200, 400, 400 ... ms */
        assert_non_null(strstr(res.detail, "unreachable"));
        assert_non_null(strstr(res.detail, "the bootstrap token expires"));
        joincheck_result_done(&res);

        /* an expired token is not tried at all */
        o.token_expires = time(NULL) - 10;
        res = (struct joincheck_result) {};
        assert_int_equal(joincheck_run(ep, &token, pins, &o, &res), -EACCES);
        assert_int_equal(res.verdict, JOINCHECK_TOKEN_EXPIRED);
        assert_int_equal(res.attempts, 0);
        joincheck_result_done(&res);
        secret_clear(&token);
}

/* ---- the step, with a fake kubeadm and systemctl on PATH ---------------------- */

static size_t count(const char *haystack, const char *needle) {
        size_t n = 0;
        for (const char *p = haystack; p && (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static char *slurp(const char *path) {
        char *t = NULL;
        return read_full_file(path, &t, NULL) >= 0 ? t : NULL;
}

static mode_t mode_of(const char *root, const char *path) {
        _cleanup_free_ char *p = path_in_root(root, path);
        struct stat st;
        return stat(p, &st) == 0 ? st.st_mode & 07777 : (mode_t) -1;
}

/* A fake bin dir: kubeadm logs its argv and the mode of its --config file,
 * prints FAKE_KUBEADM_SAY (e.g. a token, as kubeadm's bootstrap-token
 * phase does) and exits FAKE_KUBEADM_EXIT; systemctl logs its argv. */
static char *fake_bin(const char *dir, bool with_kubeadm) {
        char *bin = NULL;
        assert_true(asprintf(&bin, "%s/bin", dir) > 0);
        assert_int_equal(mkdir_p(bin, 0755), 0);
        const char *kubeadm =
                "#!/bin/sh\n"
                "echo \"kubeadm $*\" >> \"$FAKE_LOG\"\n"
                "tr '\\0' ' ' < /proc/$$/cmdline >> \"$FAKE_LOG\"; echo >> \"$FAKE_LOG\"\n"
                "while [ $# -gt 0 ]; do [ \"$1\" = --config ] && stat -c 'config-mode %a' \"$2\" >> \"$FAKE_LOG\"; shift; done\n"
                "[ -n \"$FAKE_KUBEADM_SAY\" ] && echo \"$FAKE_KUBEADM_SAY\"\n"
                "exit ${FAKE_KUBEADM_EXIT:-0}\n";
        const char *systemctl = "#!/bin/sh\necho \"systemctl $*\" >> \"$FAKE_LOG\"\n";
        if (with_kubeadm)
                assert_int_equal(write_file_atomic(bin, "kubeadm", kubeadm, strlen(kubeadm), 0755, -1, -1, NULL), 0);
        assert_int_equal(write_file_atomic(bin, "systemctl", systemctl, strlen(systemctl), 0755, -1, -1, NULL), 0);
        return bin;
}

struct fake_env {
        char *dir, *root, *bin, *log, *old_path;
};

static void fake_env_setup(struct fake_env *e, bool with_kubeadm) {
        e->dir = make_tmpdir("nodeos-kubeadm-");
        assert_true(asprintf(&e->root, "%s/root", e->dir) > 0);
        assert_int_equal(mkdir_p(e->root, 0755), 0);
        e->bin = fake_bin(e->dir, with_kubeadm);
        assert_true(asprintf(&e->log, "%s/log", e->dir) > 0);
        e->old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
        _cleanup_free_ char *path = NULL;
        assert_true(asprintf(&path, "%s:/usr/bin:/bin", e->bin) > 0);
        setenv("PATH", path, 1);
        setenv("FAKE_LOG", e->log, 1);
        unsetenv("FAKE_KUBEADM_SAY");
        unsetenv("FAKE_KUBEADM_EXIT");
}

static void fake_env_done(struct fake_env *e) {
        setenv("PATH", e->old_path, 1);
        rm_rf(e->dir);
        free(e->dir);
        free(e->root);
        free(e->bin);
        free(e->log);
        free(e->old_path);
}

static int apply_step(const char *root, bool live, const struct node_config *c, struct step_result *res) {
        struct agent_ctx ctx = { .root = root, .live = live, .config = c,
                                 .role = role_catalog_find(catalog, c->role), .catalog = catalog };
        struct step s = { .name = "kubeadm", .type = &step_type_kubeadm };
        *res = (struct step_result) { .status = STEP_DONE };
        return step_type_kubeadm.apply(&ctx, &s, res);
}

static void offline_root_renders_the_config_0600_and_says_what_it_would_run(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("nodeos-kubeadm-");
        _cleanup_strv_free_ char **dirs = kube_seed_dirs();
        STRV_FOREACH(dir, dirs) {
                struct node_config *c = load_seed_dir(*dir);
                const struct role *role = role_catalog_find(catalog, c->role);
                bool init = STREQ(role->kubernetes, "init");
                const char *dest = init ? NODEOS_KUBEADM_DIR "/kubeadm-init.yaml" : NODEOS_KUBEADM_DIR "/kubeadm-join.yaml";
                struct step_result res;
                assert_int_equal(apply_step(root, false, c, &res), 0);
                assert_int_equal(res.status, STEP_SKIPPED);
                assert_non_null(strstr(res.detail, init ? "would write /etc/kubernetes/pki/ca.{crt,key} and run 'kubeadm init --config"
                                                        : "run 'kubeadm join --config"));
                assert_null(strstr(res.detail, secret_reveal(&c->cluster.token)));
                assert_int_equal(mode_of(root, dest), 0600);
                /* nothing kubeadm would write, and no CA from the seed, offline */
                _cleanup_free_ char *key = path_in_root(root, "/etc/kubernetes/pki/ca.key");
                assert_int_not_equal(access(key, F_OK), 0);
                free(res.detail);
                config_free(c);
        }
        rm_rf(root);
}

static void without_kubeadm_the_step_is_skipped_with_the_reason(void **state) {
        (void) state;
        struct fake_env e = {};
        fake_env_setup(&e, false);
        setenv("PATH", e.bin, 1);       /* no kubeadm anywhere on PATH */
        struct node_config *c = load_seed_dir("cloud-init/examples/verne");
        struct step_result res;
        assert_int_equal(apply_step(e.root, true, c, &res), 0);
        assert_int_equal(res.status, STEP_SKIPPED);
        assert_non_null(strstr(res.detail, "kubeadm not installed in this image"));
        free(res.detail);
        config_free(c);
        fake_env_done(&e);
}

static char *indent_pem(const char *pem) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        fputs("    ", f);
        for (const char *p = pem; *p; p++) {
                fputc(*p, f);
                if (*p == '\n' && p[1])
                        fputs("    ", f);
        }
        fclose(f);
        return out;
}

static void master_writes_the_seed_ca_and_runs_init_with_the_token_only_in_a_0600_file(void **state) {
        (void) state;
        struct fake_env e = {};
        struct ca ca;
        struct api a;
        fake_env_setup(&e, true);
        ca_make(&ca);
        api_start(&a, &ca);
        _cleanup_free_ char *cert = indent_pem(ca.cert_pem), *key = indent_pem(secret_reveal(&ca.key_pem)), *seed = NULL;
        assert_true(asprintf(&seed,
                             "#cloud-config\nschema_version: 1\nrole: master\nhostname: master\ntopology: 100k\n"
                             "cluster:\n  advertise_address: 127.0.0.1\n  api_endpoint: \"%s\"\n  token: \"" TOKEN "\"\n"
                             "  ca_cert: |\n%s  ca_key: |\n%s",
                             a.endpoint, cert, key) > 0);
        struct node_config *c = parse_seed(seed);
        struct step_result res;

        /* kubeadm fails and prints the token: the detail quotes it redacted */
        setenv("FAKE_KUBEADM_SAY", "[bootstrap-token] Using token: " TOKEN, 1);
        setenv("FAKE_KUBEADM_EXIT", "1", 1);
        assert_true(apply_step(e.root, true, c, &res) < 0);
        assert_int_equal(res.status, STEP_FAILED);
        assert_non_null(strstr(res.detail, "kubeadm init --config"));
        assert_non_null(strstr(res.detail, "Using token: k7x2qa.****************"));
        assert_null(strstr(res.detail, "0123456789abcdef"));
        free(res.detail);

        /* kubeadm succeeds */
        unsetenv("FAKE_KUBEADM_SAY");
        unsetenv("FAKE_KUBEADM_EXIT");
        assert_int_equal(apply_step(e.root, true, c, &res), 0);
        assert_int_equal(res.status, STEP_DONE);
        free(res.detail);
        _cleanup_free_ char *crt_path = path_in_root(e.root, "/etc/kubernetes/pki/ca.crt"),
                            *key_path = path_in_root(e.root, "/etc/kubernetes/pki/ca.key");
        _cleanup_free_ char *crt = slurp(crt_path), *k = slurp(key_path), *log = slurp(e.log);
        assert_string_equal(crt, ca.cert_pem);
        assert_string_equal(k, secret_reveal(&ca.key_pem));
        assert_int_equal(mode_of(e.root, "/etc/kubernetes/pki/ca.key"), 0600);
        assert_non_null(log);
        assert_non_null(strstr(log, "kubeadm init --config "));
        assert_non_null(strstr(log, " --skip-token-print"));
        assert_non_null(strstr(log, "config-mode 600"));
        assert_non_null(strstr(log, "systemctl enable --quiet kubelet.service"));
        /* neither argv nor /proc/<pid>/cmdline of kubeadm ever held the token */
        assert_null(strstr(log, "0123456789abcdef"));
        assert_null(strstr(log, "k7x2qa"));

        /* configured and the API answers (verified with the seed CA): skipped */
        assert_int_equal(write_file_atomic(e.root, KUBE_ADMIN_CONF, "x", 1, 0600, -1, -1, NULL), 0);
        assert_int_equal(apply_step(e.root, true, c, &res), 0);
        assert_int_equal(res.status, STEP_SKIPPED);
        assert_non_null(strstr(res.detail, "control plane already running"));
        free(res.detail);
        free(log);
        log = slurp(e.log);
        assert_non_null(strstr(log, "systemctl enable --now kubelet.service"));
        /* kubeadm ran twice (fail, success), not a third time */
        assert_int_equal(count(log, "config-mode "), 2);

        config_free(c);
        api_stop(&a);
        ca_done(&ca);
        fake_env_done(&e);
}

static void worker_runs_the_preflight_before_join_and_skips_once_joined(void **state) {
        (void) state;
        struct fake_env e = {};
        struct ca ca;
        struct api a;
        fake_env_setup(&e, true);
        ca_make(&ca);
        api_start(&a, &ca);
        _cleanup_free_ char *seed = NULL;
        assert_true(asprintf(&seed,
                             "#cloud-config\nschema_version: 1\nrole: kafka\nhostname: kafka\ntopology: 100k\n"
                             "cluster:\n  api_endpoint: \"%s\"\n  token: \"" TOKEN "\"\n  ca_cert_hashes: [\"%s\"]\n",
                             a.endpoint, ca.hash) > 0);
        struct node_config *c = parse_seed(seed);
        struct step_result res;

        /* a wrong token secret: one line, kubeadm never runs */
        _cleanup_free_ char *bad = cluster_info_json(&a, &ca, WRONG_SECRET);
        api_set_info(&a, 200, bad);
        assert_true(apply_step(e.root, true, c, &res) < 0);
        assert_int_equal(res.status, STEP_FAILED);
        _cleanup_free_ char *want = NULL;
        assert_true(asprintf(&want, "join preflight: bootstrap token not accepted by %s (expired or wrong)", a.endpoint) > 0);
        assert_non_null(strstr(res.detail, want));
        /* and where a seed with a token the cluster knows comes from */
        assert_non_null(strstr(res.detail, "get this node a new seed from its rollout (make seeds ... SEEDGEN_FLAGS=--renew kafka)"));
        assert_null(strchr(res.detail, '\n'));
        free(res.detail);
        _cleanup_free_ char *log0 = slurp(e.log);
        assert_true(!log0 || !strstr(log0, "kubeadm"));

        /* the right one: join */
        _cleanup_free_ char *good = cluster_info_json(&a, &ca, TOKEN);
        api_set_info(&a, 200, good);
        assert_int_equal(apply_step(e.root, true, c, &res), 0);
        assert_int_equal(res.status, STEP_DONE);
        assert_non_null(strstr(res.detail, "dojot.components/group=kafka"));
        free(res.detail);
        _cleanup_free_ char *log = slurp(e.log);
        assert_non_null(strstr(log, "kubeadm join --config "));
        assert_non_null(strstr(log, "config-mode 600"));
        assert_null(strstr(log, "0123456789abcdef"));
        assert_int_equal(mode_of(e.root, NODEOS_KUBEADM_DIR "/kubeadm-join.yaml"), 0600);

        /* kubelet.conf exists: already joined, no second join */
        assert_int_equal(write_file_atomic(e.root, KUBE_KUBELET_CONF, "x", 1, 0600, -1, -1, NULL), 0);
        assert_int_equal(apply_step(e.root, true, c, &res), 0);
        assert_int_equal(res.status, STEP_SKIPPED);
        assert_non_null(strstr(res.detail, "already joined"));
        free(res.detail);
        _cleanup_free_ char *log2 = slurp(e.log);
        assert_int_equal(count(log2, "config-mode "), 1);

        config_free(c);
        api_stop(&a);
        ca_done(&ca);
        fake_env_done(&e);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(init_config_has_the_cluster_settings_in_both_topologies),
                cmocka_unit_test(join_config_pins_the_ca_and_labels_the_group_for_every_worker),
                cmocka_unit_test(every_kubernetes_role_preloads_the_pinned_pause_and_control_plane_images),
                cmocka_unit_test(plan_runs_kubeadm_after_services_and_images_only_on_kubernetes_roles),
                cmocka_unit_test(jws_matches_the_cluster_bootstrap_known_answers),
                cmocka_unit_test(token_format_is_checked),
                cmocka_unit_test(join_preflight_gives_one_verdict_per_cause),
                cmocka_unit_test(join_preflight_waits_for_a_missing_signature_within_its_grace),
                cmocka_unit_test(join_preflight_retries_an_unpublished_cluster_info_until_the_cap),
                cmocka_unit_test(join_preflight_backs_off_on_an_unreachable_endpoint_until_the_token_expires),
                cmocka_unit_test(offline_root_renders_the_config_0600_and_says_what_it_would_run),
                cmocka_unit_test(without_kubeadm_the_step_is_skipped_with_the_reason),
                cmocka_unit_test(master_writes_the_seed_ca_and_runs_init_with_the_token_only_in_a_0600_file),
                cmocka_unit_test(worker_runs_the_preflight_before_join_and_skips_once_joined),
        };
        return cmocka_run_group_tests(tests, load_catalog, free_catalog);
}
