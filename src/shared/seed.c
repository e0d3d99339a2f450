/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/manifests.h"
#include "shared/netconfig.h"
#include "shared/pki.h"
#include "shared/renderer.h"
#include "shared/role.h"
#include "shared/seed.h"

void seed_done(struct seed *s) {
        free(s->source);
        /* user-data can hold the bootstrap token and the CA key */
        if (s->user_data)
                explicit_bzero(s->user_data, s->user_len);
        free(s->meta_data);
        free(s->user_data);
        free(s->meta_name);
        free(s->user_name);
        free(s->vendor_name);
        free(s->network_name);
        free(s->network_config);
        *s = (struct seed) {};
}

bool seed_file_says_something(const char *text) {
        for (const char *p = text; *p;) {
                size_t l = strcspn(p, "\n");
                size_t lead = strspn(p, " \t\r");
                if (lead < l && p[lead] != '#')
                        return true;
                p += l + (p[l] ? 1 : 0);
        }
        return false;
}

/* DIR/NAME, an optional file: its name for messages, whether it says
 * something, and with ret_text its contents. */
static int read_optional(const char *dir, const char *shown, const char *name, char **ret_name, bool *ret_says, char **ret_text,
                         size_t *ret_len) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len = 0;
        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        int r = read_full_file(path, &text, &len);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (asprintf(ret_name, "%s/%s", shown, name) < 0)
                return -ENOMEM;
        *ret_says = seed_file_says_something(text);
        if (ret_text) {
                *ret_text = TAKE_PTR(text);
                *ret_len = len;
        }
        return 0;
}

/* The two files every seed has, DIR/META and DIR/USER, into s with their
 * names as messages show them (SHOWN/...): -ENOENT when META is absent (no
 * seed here), -EBADMSG (logged) when META is there without a readable USER. */
static int read_meta_and_user(const char *dir, const char *shown, const char *meta, const char *user, const char *source,
                              struct seed *s) {
        _cleanup_free_ char *m = NULL, *u = NULL;
        if (asprintf(&m, "%s/%s", dir, meta) < 0 || asprintf(&u, "%s/%s", dir, user) < 0)
                return -ENOMEM;
        int r = read_full_file(m, &s->meta_data, &s->meta_len);
        if (r < 0)
                return r;
        r = read_full_file(u, &s->user_data, &s->user_len);
        if (r < 0) {
                log_error("%s has %s but no readable %s: %s", shown, meta, user, strerror(-r));
                return r == -ENOENT ? -EBADMSG : r;
        }
        if (!(s->source = strdup(source)) || asprintf(&s->meta_name, "%s/%s", shown, meta) < 0 ||
            asprintf(&s->user_name, "%s/%s", shown, user) < 0)
                return -ENOMEM;
        return 0;
}

int seed_read_files(const char *dir, const char *source, const char *shown, struct seed *ret) {
        struct seed s = {};
        int r = read_meta_and_user(dir, shown, "meta-data", "user-data", source, &s);
        if (r >= 0)
                r = read_optional(dir, shown, "vendor-data", &s.vendor_name, &s.vendor_data_says_something, NULL, NULL);
        if (r >= 0)
                r = read_optional(dir, shown, "network-config", &s.network_name, &s.network_config_says_something,
                                  &s.network_config, &s.network_len);
        if (r < 0) {
                seed_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

/* Whether a vendor_data*.json says something: "{}" (what OpenStack writes
 * when there is none) and blanks do not. */
static bool json_says_something(const char *text) {
        size_t n = 0;
        for (const char *p = text; *p; p++)
                if (!strchr(" \t\r\n{}", *p))
                        n++;
        return n > 0;
}

int seed_read_config_drive(const char *dir, const char *source, const char *shown, struct seed *ret) {
        _cleanup_free_ char *top = NULL, *shown_top = NULL;
        struct seed s = { .format = SEED_CONFIG_DRIVE };
        if (asprintf(&top, "%s/openstack/latest", dir) < 0 || asprintf(&shown_top, "%s/openstack/latest", shown) < 0)
                return -ENOMEM;
        int r = read_meta_and_user(top, shown_top, "meta_data.json", "user_data", source, &s);
        if (r >= 0)
                r = read_optional(top, shown_top, "network_data.json", &s.network_name, &s.network_config_says_something,
                                  &s.network_config, &s.network_len);
        if (r >= 0 && s.network_config && !json_says_something(s.network_config))
                s.network_config_says_something = false;
        for (size_t i = 0; r >= 0 && i < 2 && !s.vendor_data_says_something; i++) {
                _cleanup_free_ char *name = NULL, *text = NULL;
                size_t len = 0;
                bool says = false;
                r = read_optional(top, shown_top, i == 0 ? "vendor_data.json" : "vendor_data2.json", &name, &says, &text, &len);
                if (r >= 0 && name && json_says_something(text)) {
                        free(s.vendor_name);
                        s.vendor_name = TAKE_PTR(name);
                        s.vendor_data_says_something = true;
                }
        }
        if (r < 0) {
                seed_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int seed_read_dir(const char *dir, struct seed *ret) {
        _cleanup_free_ char *src = NULL, *meta = NULL, *os_meta = NULL;
        if (asprintf(&src, "seed-dir:%s", dir) < 0 || asprintf(&meta, "%s/meta-data", dir) < 0 ||
            asprintf(&os_meta, "%s/openstack/latest/meta_data.json", dir) < 0)
                return -ENOMEM;
        if (access(meta, F_OK) < 0 && access(os_meta, F_OK) == 0)
                return seed_read_config_drive(dir, src, dir, ret);
        int r = seed_read_files(dir, src, dir, ret);
        if (r == -ENOENT)
                log_error("%s: no meta-data file", dir);
        return r;
}

int seed_signed_message(const char *meta, size_t meta_len, const char *user, size_t user_len, char **ret, size_t *ret_len) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        for (const char *p = meta, *end = meta + meta_len; p < end;) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t l = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);
                if (strncmp(p, SEED_SIGNATURE_KEY ":", strlen(SEED_SIGNATURE_KEY) + 1) != 0)
                        fwrite(p, 1, l, f);
                p += l;
        }
        fputs("\n--\n", f);
        fwrite(user, 1, user_len, f);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        *ret_len = len;
        return 0;
}

/* A seed changed after it was signed is no seed of the rollout's. */
static int check_signature(const struct seed *seed, const struct node_config *cfg, struct diag *d) {
        if (!cfg->seed_signature)
                return 0;
        _cleanup_free_ char *msg = NULL;
        size_t len = 0;
        int r = seed_signed_message(seed->meta_data, seed->meta_len, seed->user_data, seed->user_len, &msg, &len);
        if (r < 0)
                return r;
        r = pki_verify(cfg->seed_key, msg, len, cfg->seed_signature);
        if (r == -EBADMSG) {
                diag_add(d, seed->meta_name, cfg->signature_pos.line, cfg->signature_pos.col,
                         SEED_SIGNATURE_KEY ": does not verify with nodeos-seed-key: the seed was changed after it was signed");
                return -EINVAL;
        }
        return r;
}

/* One source of network truth, and none outside the signature: a signed
 * seed's signature covers meta-data and user-data only, so a network-config
 * beside it could move a trusted node anywhere. */
static int load_network_config(const struct seed *seed, struct node_config *cfg, struct diag *d) {
        if (cfg->seed_signature) {
                diag_add(d, seed->network_name, 1, 1, "network-config is not covered by " SEED_SIGNATURE_KEY
                         ": a signed seed gives the node's address in user-data's network section (cloud-init/README.md, network)");
                return -EINVAL;
        }
        bool drive = seed->format == SEED_CONFIG_DRIVE;
        if (cfg->network.present) {
                diag_add(d, seed->network_name, 1, 1, "%s and user-data's network section (%s:%zu:%zu) both configure "
                         "the network: keep one", drive ? "network_data.json" : "network-config", cfg->network.pos.file,
                         cfg->network.pos.line, cfg->network.pos.col);
                return -EINVAL;
        }
        return (drive ? netconfig_parse_openstack : netconfig_parse)(seed->network_config, seed->network_len, seed->network_name,
                                                                       &cfg->network_config, d);
}

int seed_load_config(const char *roles_dir, const struct seed *seed,
                     struct role_catalog **ret_catalog, struct node_config **ret_config, struct diag *d) {
        _cleanup_role_catalog_ struct role_catalog *cat = NULL;
        _cleanup_config_ struct node_config *cfg = NULL;
        int r = role_catalog_load(roles_dir, &cat, d);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **names = role_catalog_names(cat);
        if (!names)
                return -ENOMEM;
        r = (seed->format == SEED_CONFIG_DRIVE ? config_parse_config_drive : config_parse)(
                seed->meta_data, seed->meta_len, seed->meta_name, seed->user_data, seed->user_len, seed->user_name, names, &cfg, d);
        if (r < 0)
                return r;
        r = role_check_config(cat, cfg, d);
        if (r < 0)
                return r;
        r = check_signature(seed, cfg, d);
        if (r < 0)
                return r;
        /* nothing a seed says is silently ignored */
        if (seed->network_config_says_something) {
                r = load_network_config(seed, cfg, d);
                if (r == -ENOMEM)
                        return r;
        }
        if (seed->vendor_data_says_something)
                diag_add(d, seed->vendor_name, 1, 1, "vendor-data is not read by the agent: put what it says in user-data, or leave it out");
        if (diag_count(d) > 0)
                return -EINVAL;
        *ret_catalog = TAKE_PTR(cat);
        *ret_config = TAKE_PTR(cfg);
        return 0;
}

static bool file_applies(const struct role_file *f, const struct node_config *c) {
        return !f->when_lb_mode || (c->lb.mode != LB_MODE_NONE && STREQ(f->when_lb_mode, lb_mode_to_string(c->lb.mode)));
}

static int render_files(const struct role_catalog *cat, const struct role *role, const struct node_config *cfg,
                        const struct base_packages *packages, struct diag *d) {
        struct render_ctx ctx = { .config = cfg, .role = role, .catalog = cat, .packages = packages };
        for (size_t i = 0; i < role->n_files; i++) {
                const struct role_file *f = &role->files[i];
                const struct renderer *rd = renderer_find(f->renderer);
                _cleanup_free_ char *text = NULL, *error = NULL;
                if (!file_applies(f, cfg))
                        continue;
                int r = rd ? rd->render(&ctx, &text, &error) : -EINVAL;
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        diag_add(d, cfg->user_data_file, cfg->role_pos.line, cfg->role_pos.col, "role %s: %s cannot be rendered from this seed: %s",
                                 role->name, f->dest, error ? error : rd ? strerror(-r) : "unknown renderer");
        }
        return 0;
}

/* The manifests' own diagnostics point into the role's templates, one per
 * occurrence; the seed's author gets each distinct problem once. */
static int render_manifests(const struct role *role, const struct node_config *cfg, struct diag *d) {
        struct manifest_render mr = {};
        struct diag md = {};
        int r = manifests_render(role->manifests, role->dir, cfg, &mr, &md);
        manifest_render_done(&mr);
        _cleanup_strv_free_ char **seen = NULL;
        STRV_FOREACH(l, md.lines) {
                /* "file:line[:col]: problem" -> problem */
                const char *why = strstr(*l, ": ");
                why = why ? why + 2 : *l;
                if (strv_contains(seen, why))
                        continue;
                if (strv_extend(&seen, why) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* the template's location, without the problem again */
                int at_len = why > *l + 2 ? (int) (why - 2 - *l) : 0;
                diag_add(d, cfg->user_data_file, cfg->role_pos.line, cfg->role_pos.col,
                         "role %s: its manifests cannot be rendered from this seed: %s%s%.*s%s", role->name, why,
                         at_len ? " (first at " : "", at_len, *l, at_len ? ")" : "");
        }
        diag_done(&md);
        return r == -EINVAL ? 0 : r;
}

int seed_render_check(const struct role_catalog *cat, const struct node_config *cfg, const struct base_packages *packages,
                      struct diag *d) {
        const struct role *role = role_catalog_find(cat, cfg->role);
        size_t before = diag_count(d);
        if (!role)
                return -EINVAL;
        int r = render_files(cat, role, cfg, packages, d);
        if (r >= 0 && role->manifests)
                r = render_manifests(role, cfg, d);
        if (r < 0)
                return r;
        return diag_count(d) > before ? -EINVAL : 0;
}
