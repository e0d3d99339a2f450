/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/config.h"
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
        *s = (struct seed) {};
}

static int seed_names(struct seed *s, const char *source, const char *base) {
        s->source = strdup(source);
        if (!s->source || asprintf(&s->meta_name, "%s/meta-data", base) < 0 || asprintf(&s->user_name, "%s/user-data", base) < 0)
                return -ENOMEM;
        return 0;
}

int seed_read_files(const char *dir, const char *source, const char *shown, struct seed *ret) {
        _cleanup_free_ char *m = NULL, *u = NULL;
        struct seed s = {};
        if (asprintf(&m, "%s/meta-data", dir) < 0 || asprintf(&u, "%s/user-data", dir) < 0)
                return -ENOMEM;
        int r = read_full_file(m, &s.meta_data, &s.meta_len);
        if (r < 0)
                return r;
        r = read_full_file(u, &s.user_data, &s.user_len);
        if (r < 0) {
                log_error("%s has meta-data but no readable user-data: %s", shown, strerror(-r));
                seed_done(&s);
                return r == -ENOENT ? -EBADMSG : r;
        }
        r = seed_names(&s, source, shown);
        if (r < 0) {
                seed_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int seed_read_dir(const char *dir, struct seed *ret) {
        _cleanup_free_ char *src = NULL;
        if (asprintf(&src, "seed-dir:%s", dir) < 0)
                return -ENOMEM;
        int r = seed_read_files(dir, src, dir, ret);
        if (r == -ENOENT)
                log_error("%s: no meta-data file", dir);
        return r;
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
        r = config_parse(seed->meta_data, seed->meta_len, seed->meta_name,
                         seed->user_data, seed->user_len, seed->user_name, names, &cfg, d);
        if (r < 0)
                return r;
        r = role_check_config(cat, cfg, d);
        if (r < 0)
                return r;
        if (diag_count(d) > 0)
                return -EINVAL;
        *ret_catalog = TAKE_PTR(cat);
        *ret_config = TAKE_PTR(cfg);
        return 0;
}
