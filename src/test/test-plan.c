/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of plan.c: a seed and its role's data make the node's steps,
 * for every role of the catalog and every example seed of each. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include "agent/plan.h"
#include "basic/diag.h"
#include "basic/strv.h"
#include "shared/role.h"
#include "shared/seed.h"
#include "test-util.h"

struct loaded {
        struct seed seed;
        struct role_catalog *cat;
        struct node_config *cfg;
        const struct role *role;
        struct plan plan;
};

static void load(const char *dir, struct loaded *l) {
        struct diag d = {};
        *l = (struct loaded) {};
        assert_int_equal(seed_read_dir(dir, &l->seed), 0);
        assert_int_equal(seed_load_config("roles", &l->seed, &l->cat, &l->cfg, &d), 0);
        diag_done(&d);
        assert_non_null(l->role = role_catalog_find(l->cat, l->cfg->role));
        assert_int_equal(plan_build(l->cfg, l->role, &l->plan), 0);
}

static void unload(struct loaded *l) {
        plan_done(&l->plan);
        config_free(l->cfg);
        role_catalog_free(l->cat);
        seed_done(&l->seed);
}

static ssize_t step_index(const struct plan *p, const char *name) {
        for (size_t i = 0; i < p->n; i++)
                if (STREQ(p->steps[i].name, name))
                        return (ssize_t) i;
        return -1;
}

/* The example seed directories of a role (cloud-init/examples/<role> and
 * cloud-init/examples/few-devices/<role>, those that exist). */
static char **examples_of(const char *role) {
        char **l = NULL;
        const char * const bases[] = { "cloud-init/examples", "cloud-init/examples/few-devices" };
        for (size_t b = 0; b < ELEMENTSOF(bases); b++) {
                _cleanup_free_ char *dir = NULL, *meta = NULL;
                assert_true(asprintf(&dir, "%s/%s", bases[b], role) > 0 && asprintf(&meta, "%s/meta-data", dir) > 0);
                if (access(meta, F_OK) == 0)
                        assert_int_equal(strv_extend(&l, dir), 0);
        }
        return l;
}

/* Every role of the catalog, read from roles/ (not a list written here). */
static char **catalog_roles(void) {
        struct role_catalog *cat = NULL;
        struct diag d = {};
        assert_int_equal(role_catalog_load("roles", &cat, &d), 0);
        char **names = role_catalog_names(cat);
        role_catalog_free(cat);
        diag_done(&d);
        assert_non_null(names);
        return names;
}

static void every_role_plans_its_data_in_the_fixed_order(void **state) {
        (void) state;
        _cleanup_strv_free_ char **roles = catalog_roles();
        size_t planned = 0;
        STRV_FOREACH(r, roles) {
                _cleanup_strv_free_ char **examples = examples_of(*r);
                STRV_FOREACH(e, examples) {
                        struct loaded l;
                        load(*e, &l);
                        const struct plan *p = &l.plan;
                        /* names are unique: they key the state file */
                        for (size_t i = 0; i < p->n; i++)
                                for (size_t j = i + 1; j < p->n; j++)
                                        assert_string_not_equal(p->steps[i].name, p->steps[j].name);
                        assert_string_equal(p->steps[0].name, "hostname");
                        /* present exactly when the role's data asks */
                        assert_int_equal(step_index(p, "swap") >= 0, l.role->swap_off);
                        assert_int_equal(step_index(p, "sysctl") >= 0, l.role->n_sysctls > 0);
                        assert_int_equal(step_index(p, "volumes") >= 0, l.role->n_volumes > 0);
                        assert_int_equal(step_index(p, "manifests") >= 0, l.role->manifests != NULL);
                        bool node = STREQ(l.role->kubernetes, "init") || STREQ(l.role->kubernetes, "join");
                        assert_int_equal(step_index(p, "kubeadm") >= 0, node);
                        /* kernel modules before the sysctls they create */
                        if (step_index(p, "kernel-modules") >= 0 && step_index(p, "sysctl") >= 0)
                                assert_true(step_index(p, "kernel-modules") < step_index(p, "sysctl"));
                        /* kubeadm after the services and images it needs; manifests after kubeadm */
                        if (node) {
                                assert_true(step_index(p, "services") < step_index(p, "kubeadm"));
                                if (step_index(p, "images") >= 0)
                                        assert_true(step_index(p, "images") < step_index(p, "kubeadm"));
                        }
                        if (l.role->manifests)
                                assert_true(step_index(p, "kubeadm") < step_index(p, "manifests"));
                        /* a joining node ends with kubeadm */
                        if (STREQ(l.role->kubernetes, "join"))
                                assert_string_equal(p->steps[p->n - 1].name, "kubeadm");
                        unload(&l);
                        planned++;
                }
        }
        assert_true(planned >= strv_length(roles));
}

static void files_follow_the_lb_mode(void **state) {
        (void) state;
        struct loaded l;
        load("cloud-init/examples/lb", &l);
        assert_true(step_index(&l.plan, "file:/etc/haproxy/haproxy.cfg") >= 0);
        assert_true(step_index(&l.plan, "file:/etc/nginx/nginx.conf") < 0);
        unload(&l);
        load("cloud-init/examples/few-devices/lb", &l);
        assert_true(step_index(&l.plan, "file:/etc/nginx/nginx.conf") >= 0);
        assert_true(step_index(&l.plan, "file:/etc/haproxy/haproxy.cfg") < 0);
        unload(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_role_plans_its_data_in_the_fixed_order),
                cmocka_unit_test(files_follow_the_lb_mode),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
