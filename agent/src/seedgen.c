/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include "datasource.h"
#include "engine.h"
#include "exec.h"
#include "fileio.h"
#include "inventory.h"
#include "pki.h"
#include "role.h"
#include "seedgen.h"
#include "strv.h"
#include "yamlnode.h"
#include "config.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct inventory *, inventory_free)

/* The lb backend groups of the inventory, and the seed's key for each. */
static const char * const lb_groups[] = { "apigw_nodes", "mqtt_nodes", "lwm2m_nodes", "metrics_nodes" };

/* dojot_role / dojot.components/group values -> roles (facts §4: the group
 * of verne nodes is "vernemq"). */
static const char *role_from_var(const char *v) {
        static const char * const map[][2] = {
                { "dojot", "dojot" }, { "kafka", "kafka" }, { "x509", "x509" },
                { "verne", "verne" }, { "vernemq", "verne" }, { "master", "master" }, { "lb", "lb" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (STREQ(v, map[i][0]))
                        return map[i][1];
        return NULL;
}

/* "first_verne_worker_host" -> "first-verne-worker-host" */
static char *hostname_from_name(const char *name) {
        char *h = strdup(name);
        for (char *p = h; p && *p; p++)
                *p = *p == '_' || *p == ' ' ? '-' : (char) tolower((unsigned char) *p);
        return h;
}

/* Last resort when groups and host vars are silent: the guide names its
 * hosts after their role (dojot_worker_host, kafka_worker_host). */
static const char *role_from_name(const char *name) {
        static const char * const words[] = { "dojot", "kafka", "x509", "verne" };
        const char *found = NULL;
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strstr(name, words[i])) {
                        if (found)
                                return NULL;
                        found = words[i];
                }
        return found;
}

static bool is_lb_host(const struct inv_host *h, const char **mode) {
        if (STREQ(h->name, "haproxy") || inv_host_in(h, "haproxy")) {
                *mode = "haproxy";
                return true;
        }
        if (STREQ(h->name, "nginx") || inv_host_in(h, "nginx")) {
                *mode = "nginx";
                return true;
        }
        return false;
}

static size_t count_workers(const struct inventory *inv) {
        size_t n = 0;
        for (size_t i = 0; i < inv->n; i++)
                n += inv_host_in(&inv->hosts[i], "worker_nodes") && !inv_host_in(&inv->hosts[i], "master_nodes");
        return n;
}

static int decide_role(const struct inventory *inv, const struct inv_host *h, bool few, const char **role,
                       const char **lb_mode, struct diag *d) {
        *role = NULL;
        *lb_mode = NULL;
        if (is_lb_host(h, lb_mode)) {
                *role = "lb";
                return 0;
        }
        if (inv_host_in(h, "master_nodes")) {
                *role = "master";
                return 0;
        }
        if (!inv_host_in(h, "worker_nodes"))
                return 0;       /* not a node of ours (e.g. the Ansible control host) */
        if (h->role_var) {
                *role = role_from_var(h->role_var);
                if (!*role) {
                        diag_add(d, inv->file, h->line, h->col, "host '%s': dojot_role '%s' is not one of dojot, kafka, x509, verne",
                                 h->name, h->role_var);
                        return -EINVAL;
                }
                return 0;
        }
        if (few) {
                *role = "dojot";        /* the single worker holds everything (guide, few devices) */
                return 0;
        }
        if (inv_host_in(h, "mqtt_nodes")) {
                *role = "verne";
                return 0;
        }
        *role = role_from_name(h->name);
        if (!*role) {
                diag_add(d, inv->file, h->line, h->col,
                         "host '%s': cannot tell its role from the groups; set the host variable dojot_role (dojot, kafka, x509 or verne)",
                         h->name);
                return -EINVAL;
        }
        fprintf(stderr, "seedgen: host '%s': role %s inferred from its name (set dojot_role to be explicit)\n", h->name, *role);
        return 0;
}

static int check_addresses(const struct inventory *inv, const struct seedgen_plan *p, struct diag *d) {
        int r = 0;
        for (size_t i = 0; i < p->n; i++) {
                if (!p->nodes[i].address) {
                        const struct inv_host *h = inventory_find(inv, p->nodes[i].host);
                        diag_add(d, inv->file, h->line, h->col, "host '%s': no ansible_host address", p->nodes[i].host);
                        r = -EINVAL;
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (p->nodes[j].address && STREQ(p->nodes[i].address, p->nodes[j].address)) {
                                const struct inv_host *h = inventory_find(inv, p->nodes[i].host);
                                diag_add(d, inv->file, h->line, h->col, "host '%s': ansible_host %s is also the address of host '%s'",
                                         p->nodes[i].host, p->nodes[i].address, p->nodes[j].host);
                                r = -EINVAL;
                        }
                for (size_t j = 0; j < i; j++)
                        if (STREQ(p->nodes[i].hostname, p->nodes[j].hostname)) {
                                const struct inv_host *h = inventory_find(inv, p->nodes[i].host);
                                diag_add(d, inv->file, h->line, h->col, "host '%s': hostname %s is also the hostname of host '%s'",
                                         p->nodes[i].host, p->nodes[i].hostname, p->nodes[j].host);
                                r = -EINVAL;
                        }
        }
        return r;
}

static int check_lb_groups(const struct inventory *inv, const struct seedgen_plan *p, struct diag *d) {
        int r = 0;
        STRV_FOREACH(rec, inv->dangling) {
                _cleanup_free_ char *copy = strdup(*rec);
                char *group = strtok(copy, "\t"), *ref = strtok(NULL, "\t"), *pos = strtok(NULL, "\t");
                size_t line = 0, col = 0;
                if (!group || !ref || !pos)
                        continue;
                sscanf(pos, "%zu:%zu", &line, &col);
                diag_add(d, inv->file, line, col, "%s: '%s' is not a host of the inventory (no host has that name or ansible_host)", group, ref);
                r = -EINVAL;
        }
        bool few = STREQ(p->topology, "few-devices");
        for (size_t i = 0; i < p->n; i++) {
                const struct seedgen_node *nd = &p->nodes[i];
                const struct inv_host *h = inventory_find(inv, nd->host);
                bool in_mqtt = inv_host_in(h, "mqtt_nodes");
                if (STREQ(nd->role, "verne") && !in_mqtt) {
                        diag_add(d, inv->file, h->line, h->col, "host '%s': role verne but not in mqtt_nodes, so the lb never sends it MQTT", nd->host);
                        r = -EINVAL;
                }
                if (in_mqtt && !few && !STREQ(nd->role, "verne")) {
                        diag_add(d, inv->file, h->line, h->col,
                                 "mqtt_nodes: host '%s' has role %s; only verne nodes may be MQTT backends (externalTrafficPolicy: Local)",
                                 nd->host, nd->role);
                        r = -EINVAL;
                }
        }
        return r;
}

int seedgen_plan_load(const struct seedgen_options *o, struct seedgen_plan *ret, struct diag *d) {
        _cleanup_free_ char *hosts = NULL;
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        struct seedgen_plan p = {};
        int r;

        if (asprintf(&hosts, "%s/hosts.yaml", o->inventory_dir) < 0)
                return -ENOMEM;
        r = inventory_load(hosts, &inv, d);
        if (r < 0)
                return r;
        size_t workers = count_workers(inv);
        p.topology = strdup(o->topology ? o->topology : workers == 1 ? "few-devices" : "100k");
        p.variant = strdup(o->variant ? o->variant : STREQ(p.topology, "100k") ? "100k" : "vernemq");
        bool few = STREQ(p.topology, "few-devices");
        size_t masters = 0, lbs = 0;
        int bad = 0;
        for (size_t i = 0; i < inv->n; i++) {
                const struct inv_host *h = &inv->hosts[i];
                const char *role, *mode;
                if (decide_role(inv, h, few, &role, &mode, d) < 0) {
                        bad = 1;
                        continue;
                }
                if (!role)
                        continue;
                struct seedgen_node *ns = realloc(p.nodes, (p.n + 1) * sizeof(*ns));
                if (!ns)
                        return -ENOMEM;
                p.nodes = ns;
                p.nodes[p.n++] = (struct seedgen_node) {
                        .host = strdup(h->name),
                        .hostname = h->hostname_var ? strdup(h->hostname_var) : hostname_from_name(h->name),
                        .address = h->address ? strdup(h->address) : NULL,
                        .role = strdup(role),
                        .lb_mode = mode ? strdup(mode) : NULL,
                        .mac = h->mac ? strdup(h->mac) : NULL,
                };
                masters += STREQ(role, "master");
                lbs += STREQ(role, "lb");
        }
        if (masters == 0) {
                diag_add(d, inv->file, 0, 0, "master_nodes: no master host (the cluster needs exactly one)");
                bad = 1;
        } else if (masters > 1) {
                diag_add(d, inv->file, 0, 0, "master_nodes: %zu masters; dojot-nodeos bootstraps a single control-plane node", masters);
                bad = 1;
        }
        if (check_addresses(inv, &p, d) < 0)
                bad = 1;
        if (check_lb_groups(inv, &p, d) < 0)
                bad = 1;
        if (lbs > 0) {
                size_t backends = 0;
                for (size_t i = 0; i < inv->n; i++)
                        for (size_t g = 0; g < ELEMENTSOF(lb_groups); g++)
                                backends += inv_host_in(&inv->hosts[i], lb_groups[g]);
                for (size_t i = 0; backends == 0 && i < p.n; i++)
                        if (STREQ(p.nodes[i].role, "lb")) {
                                const struct inv_host *h = inventory_find(inv, p.nodes[i].host);
                                diag_add(d, inv->file, h->line, h->col, "host '%s': an lb without backends (apigw_nodes, mqtt_nodes, lwm2m_nodes and metrics_nodes are empty)",
                                         p.nodes[i].host);
                        }
                bad |= backends == 0;
        }
        if (bad) {
                seedgen_plan_done(&p);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

void seedgen_plan_done(struct seedgen_plan *p) {
        for (size_t i = 0; i < p->n; i++) {
                free(p->nodes[i].host);
                free(p->nodes[i].hostname);
                free(p->nodes[i].address);
                free(p->nodes[i].role);
                free(p->nodes[i].lb_mode);
                free(p->nodes[i].mac);
        }
        free(p->nodes);
        free(p->topology);
        free(p->variant);
        *p = (struct seedgen_plan) {};
}

/* --- writing seeds -------------------------------------------------------- */

static void put_dq(FILE *f, const char *s) {
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
        fputc('"', f);
}

/* Re-emits the operator's dojot.yaml values under dojot.vars. */
static void emit_ynode(FILE *f, const struct ynode *n, int indent) {
        for (size_t i = 0; i < n->n; i++) {
                const struct ynode *k = n->kind == YNODE_MAPPING ? n->keys[i] : NULL, *v = n->items[i];
                fprintf(f, "%*s", indent, "");
                if (k) {
                        if (k->value[0] && strspn(k->value, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-/") == strlen(k->value))
                                fputs(k->value, f);
                        else
                                put_dq(f, k->value);
                        fputc(':', f);
                } else
                        fputc('-', f);
                if (v->kind == YNODE_SCALAR) {
                        fputc(' ', f);
                        if (v->quoted)
                                put_dq(f, v->value);
                        else if (ynode_is_null(v))
                                fputs("null", f);
                        else
                                fputs(v->value, f);
                        fputc('\n', f);
                } else if (v->n == 0)
                        fputs(v->kind == YNODE_MAPPING ? " {}\n" : " []\n", f);
                else {
                        fputc('\n', f);
                        emit_ynode(f, v, indent + 2);
                }
        }
}

static void emit_block(FILE *f, const char *key, const char *text, int indent) {
        fprintf(f, "%*s%s: |\n", indent, "", key);
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t l = nl ? (size_t) (nl - p) : strlen(p);
                fprintf(f, "%*s%.*s\n", indent + 2, "", (int) l, p);
                p += l + (nl ? 1 : 0);
        }
}

static void emit_node_list(FILE *f, const char *key, const struct seedgen_plan *p, const struct inventory *inv,
                           const char *group, int indent) {
        bool any = false;
        for (size_t i = 0; i < p->n; i++) {
                const struct inv_host *h = inventory_find(inv, p->nodes[i].host);
                if (group && !inv_host_in(h, group))
                        continue;
                if (!group && STREQ(p->nodes[i].role, "lb"))
                        continue;
                if (!any)
                        fprintf(f, "%*s%s:\n", indent, "", key);
                any = true;
                fprintf(f, "%*s- {name: %s, address: %s, role: %s}\n", indent + 2, "", p->nodes[i].hostname,
                        p->nodes[i].address, p->nodes[i].role);
        }
}

struct trust {
        char *ca_cert;
        secret ca_key;
        char *ca_hash;
        secret token;
        time_t expires;
        char *rollout;
};

static char *user_data(const struct seedgen_options *o, const struct seedgen_plan *p, const struct inventory *inv,
                       const struct ynode *vars, const struct trust *t, const struct seedgen_node *nd) {
        char *text = NULL, when[32];
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        const struct seedgen_node *master = NULL;
        if (!f)
                return NULL;
        for (size_t i = 0; i < p->n; i++)
                if (STREQ(p->nodes[i].role, "master"))
                        master = &p->nodes[i];
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t->expires));
        fprintf(f, "#cloud-config\n# dojot-nodeos seed for %s (inventory host %s), rollout %s.\n"
                   "# Generated by nodeos-seedgen: it holds secrets, keep it 0600.\n",
                nd->hostname, nd->host, t->rollout);
        fprintf(f, "schema_version: 1\nrole: %s\nhostname: %s\ntopology: %s\n", nd->role, nd->hostname, p->topology);
        fprintf(f, "network:\n  address: %s/%d\n", nd->address, o->prefix > 0 ? o->prefix : 24);
        if (o->gateway)
                fprintf(f, "  gateway: %s\n", o->gateway);
        if (STREQ(nd->role, "lb")) {
                fprintf(f, "lb:\n  mode: %s\n", nd->lb_mode);
                for (size_t g = 0; g < ELEMENTSOF(lb_groups); g++)
                        emit_node_list(f, lb_groups[g], p, inv, lb_groups[g], 2);
        } else {
                fprintf(f, "cluster:\n");
                if (STREQ(nd->role, "master")) {
                        fprintf(f, "  advertise_address: %s\n", nd->address);
                        emit_block(f, "ca_cert", t->ca_cert, 2);
                        emit_block(f, "ca_key", secret_reveal(&t->ca_key), 2);
                        emit_node_list(f, "nodes", p, inv, NULL, 2);
                } else {
                        fprintf(f, "  api_endpoint: %s:6443\n  ca_cert_hashes: [\"%s\"]\n", master->address, t->ca_hash);
                }
                fprintf(f, "  token: \"%s\"\n  token_expires: \"%s\"\n", secret_reveal(&t->token), when);
        }
        fprintf(f, "dojot:\n  variant: %s\n", p->variant);
        if (vars && vars->kind == YNODE_MAPPING && vars->n > 0) {
                fprintf(f, "  vars:\n");
                emit_ynode(f, vars, 4);
        }
        fclose(f);
        return text;
}

static int load_trust(const struct seedgen_options *o, struct trust *t) {
        int r;
        if (o->ca_cert_file) {
                _cleanup_free_ char *key = NULL;
                r = read_full_file(o->ca_cert_file, &t->ca_cert, NULL);
                if (r >= 0)
                        r = read_full_file(o->ca_key_file, &key, NULL);
                if (r >= 0)
                        r = secret_set(&t->ca_key, key);
                if (key)
                        explicit_bzero(key, strlen(key));
        } else
                r = pki_make_ca(&t->ca_cert, &t->ca_key);
        if (r >= 0)
                r = pki_ca_cert_hash(t->ca_cert, &t->ca_hash);
        if (r >= 0)
                r = pki_make_token(&t->token);
        unsigned char rnd[4];
        if (r >= 0 && getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                r = -EIO;
        if (r >= 0 && asprintf(&t->rollout, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
                r = -ENOMEM;
        t->expires = time(NULL) + (o->token_ttl_s > 0 ? o->token_ttl_s : 24 * 3600);
        return r;
}

static void trust_done(struct trust *t) {
        free(t->ca_cert);
        free(t->ca_hash);
        free(t->rollout);
        secret_clear(&t->ca_key);
        secret_clear(&t->token);
}

static int write_seed_dir(const char *dir, const char *meta, const char *user) {
        int r = mkdir_p(dir, 0700);
        _cleanup_free_ char *m = NULL, *u = NULL;
        if (asprintf(&m, "%s/meta-data", dir) < 0 || asprintf(&u, "%s/user-data", dir) < 0)
                return -ENOMEM;
        if (r >= 0)
                r = write_file_atomic("/", m, meta, strlen(meta), 0600, -1, -1, NULL);
        if (r >= 0)
                r = write_file_atomic("/", u, user, strlen(user), 0600, -1, -1, NULL);
        return r;
}

static int validate_seed(const struct seedgen_options *o, const char *dir, struct diag *d) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        int r = datasource_read_dir(dir, &seed);
        if (r >= 0)
                r = engine_load_config(o->roles_dir, &seed, &cat, &cfg, d);
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        return r;
}

static int make_iso(const char *dir) {
        _cleanup_free_ char *iso = NULL, *m = NULL, *u = NULL;
        struct exec_result er;
        if (asprintf(&iso, "%s/cidata.iso", dir) < 0 || asprintf(&m, "%s/meta-data", dir) < 0 ||
            asprintf(&u, "%s/user-data", dir) < 0)
                return -ENOMEM;
        int r = exec_run((char *[]) { "xorriso", "-as", "mkisofs", "-quiet", "-o", iso, "-V", "cidata", "-J", "-r",
                                      m, u, NULL }, 60000, &er);
        if (r >= 0 && er.status != 0)
                r = -EIO;
        exec_result_done(&er);
        if (r >= 0 && chmod(iso, 0600) < 0)
                r = negative_errno();
        return r;
}

int seedgen_run(const struct seedgen_options *o, struct diag *d) {
        struct seedgen_plan p = {};
        struct trust t = {};
        _cleanup_(inventory_freep) struct inventory *inv = NULL;
        _cleanup_ynode_ struct ynode *vars = NULL;
        _cleanup_free_ char *hosts = NULL, *varsfile = NULL, *varstext = NULL;
        size_t vlen;
        int r = seedgen_plan_load(o, &p, d);
        if (r < 0)
                return r;
        if (asprintf(&hosts, "%s/hosts.yaml", o->inventory_dir) < 0 ||
            asprintf(&varsfile, "%s/group_vars/all/dojot.yaml", o->inventory_dir) < 0) {
                seedgen_plan_done(&p);
                return -ENOMEM;
        }
        r = inventory_load(hosts, &inv, d);
        if (r >= 0 && read_full_file(varsfile, &varstext, &vlen) >= 0)
                r = ynode_parse(varstext, vlen, varsfile, &vars, d);
        if (r >= 0 && vars && vars->kind != YNODE_MAPPING) {
                diag_add(d, varsfile, vars->line, vars->col, "expected a mapping of dojot variables");
                r = -EINVAL;
        }
        if (r >= 0)
                r = load_trust(o, &t);
        if (r < 0) {
                if (diag_count(d) == 0)
                        diag_add(d, o->inventory_dir, 0, 0, "cannot mint the cluster CA and token: %s", strerror(-r));
                goto out;
        }
        printf("rollout %s: topology %s, variant %s, token expires %s", t.rollout, p.topology, p.variant, ctime(&t.expires));
        printf("%-16s %-20s %-16s %-8s %s\n", "HOST", "HOSTNAME", "ADDRESS", "ROLE", "SEED");
        for (size_t i = 0; i < p.n && r >= 0; i++) {
                const struct seedgen_node *nd = &p.nodes[i];
                _cleanup_free_ char *meta = NULL, *user = user_data(o, &p, inv, vars, &t, nd), *dir = NULL,
                                    *hdir = NULL, *mdir = NULL;
                if (!user || asprintf(&meta, "instance-id: %s-%s\nlocal-hostname: %s\n", nd->hostname, t.rollout, nd->hostname) < 0 ||
                    asprintf(&dir, "%s/seeds/%s", o->out_dir, nd->hostname) < 0 ||
                    asprintf(&hdir, "%s/http/hostname/%s", o->out_dir, nd->hostname) < 0) {
                        r = -ENOMEM;
                        break;
                }
                r = write_seed_dir(dir, meta, user);
                if (r >= 0)
                        r = write_seed_dir(hdir, meta, user);
                if (r >= 0 && nd->mac) {
                        if (asprintf(&mdir, "%s/http/mac/%s", o->out_dir, nd->mac) < 0)
                                r = -ENOMEM;
                        else
                                r = write_seed_dir(mdir, meta, user);
                }
                if (r < 0) {
                        diag_add(d, dir, 0, 0, "cannot write the seed: %s", strerror(-r));
                        break;
                }
                r = validate_seed(o, dir, d);
                if (r < 0) {
                        diag_add(d, dir, 0, 0, "generated seed for host '%s' does not validate (the errors above name the key)", nd->host);
                        break;
                }
                if (!o->no_iso && (r = make_iso(dir)) < 0) {
                        diag_add(d, dir, 0, 0, "cannot make cidata.iso with xorriso: %s", strerror(-r));
                        break;
                }
                printf("%-16s %-20s %-16s %-8s %s\n", nd->host, nd->hostname, nd->address, nd->role, dir);
        }
out:
        trust_done(&t);
        seedgen_plan_done(&p);
        return r;
}
