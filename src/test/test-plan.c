/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of plan.c: a seed and its role's data make the node's steps,
 * for every role under roles/ and every example seed of each, against the
 * "steps" table of roles/README.md (order, and when each step is present). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "agent/plan.h"
#include "basic/diag.h"
#include "basic/strv.h"
#include "shared/manifest-decl.h"
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

/* Every role of the repo, read from the roles/ directory (not a list
 * written here); each must be in the catalog the seeds are loaded with. */
static char **catalog_roles(void) {
        struct role_catalog *cat = NULL;
        struct diag d = {};
        char **names = test_role_names();
        assert_int_equal(role_catalog_load("roles", &cat, &d), 0);
        STRV_FOREACH(r, names)
                assert_non_null(role_catalog_find(cat, *r));
        role_catalog_free(cat);
        diag_done(&d);
        return names;
}

/* Calls check on the loaded plan of every example seed of every role of
 * roles/ (each role has at least one); returns how many were checked. */
static size_t for_every_example(void (*check)(const struct loaded *l, const char *role)) {
        _cleanup_strv_free_ char **roles = catalog_roles();
        size_t seeds = 0;
        STRV_FOREACH(r, roles) {
                _cleanup_strv_free_ char **examples = test_role_examples(*r);
                assert_true(strv_length(examples) > 0);
                STRV_FOREACH(e, examples) {
                        struct loaded l;
                        load(*e, &l);
                        check(&l, *r);
                        unload(&l);
                        seeds++;
                }
        }
        assert_true(seeds >= strv_length(roles));
        return seeds;
}

static void plans_data_in_fixed_order(const struct loaded *l, const char *role) {
        (void) role;
        const struct plan *p = &l->plan;
        /* names are unique: they key the state file */
        for (size_t i = 0; i < p->n; i++)
                for (size_t j = i + 1; j < p->n; j++)
                        assert_string_not_equal(p->steps[i].name, p->steps[j].name);
        assert_string_equal(p->steps[0].name, "hostname");
        /* present exactly when the role's data asks */
        assert_int_equal(step_index(p, "swap") >= 0, l->role->swap_off);
        assert_int_equal(step_index(p, "sysctl") >= 0, l->role->n_sysctls > 0);
        assert_int_equal(step_index(p, "volumes") >= 0, l->role->n_volumes > 0);
        assert_int_equal(step_index(p, "manifests") >= 0, l->role->manifests != NULL);
        bool node = STREQ(l->role->kubernetes, "init") || STREQ(l->role->kubernetes, "join");
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
        if (l->role->manifests)
                assert_true(step_index(p, "kubeadm") < step_index(p, "manifests"));
        /* a joining node ends with kubeadm */
        if (STREQ(l->role->kubernetes, "join"))
                assert_string_equal(p->steps[p->n - 1].name, "kubeadm");
}

static void every_role_plans_its_data_in_the_fixed_order(void **state) {
        (void) state;
        for_every_example(plans_data_in_fixed_order);
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

/* roles/README.md, "steps": the rows in order; every file:<dest> step is row 9. */
static const char * const documented_rows[] = {
        "hostname", "network", "ssh-keys", "swap", "kernel-modules", "sysctl", "limits",
        "volumes", "file:", "services", "images", "kubeadm", "manifests", "node-labels",
};

static size_t row_of(const char *step) {
        for (size_t i = 0; i < ELEMENTSOF(documented_rows); i++)
                if (STREQ(step, documented_rows[i]) ||
                    (STREQ(documented_rows[i], "file:") && strncmp(step, "file:", 5) == 0 && step[5] == '/'))
                        return i;
        print_message("# step '%s' is not a row of the steps table\n", step);
        fail();
        return SIZE_MAX;
}

static bool file_applies_to(const struct role_file *f, const struct node_config *c) {
        return !f->when_lb_mode || (c->lb.mode != LB_MODE_NONE && STREQ(f->when_lb_mode, lb_mode_to_string(c->lb.mode)));
}

/* The whole table, for every example seed of every role: each step is a row,
 * the rows come in the table's order, each step is there exactly when its
 * "present when" column holds, of the kind its name says, and only the
 * images step reruns at every boot. */
static void steps_are_rows_of_the_table(const struct loaded *l, const char *role_name) {
        const struct plan *p = &l->plan;
        const struct role *role = l->role;
        const struct node_config *c = l->cfg;
        assert_string_equal(c->role, role_name);
        size_t prev = 0;
        for (size_t i = 0; i < p->n; i++) {
                size_t row = row_of(p->steps[i].name);
                bool file = STREQ(documented_rows[row], "file:");
                /* strictly after the previous row; only file steps share theirs */
                if (i > 0)
                        assert_true(row > prev || (row == prev && file));
                prev = row;
                assert_string_equal(p->steps[i].type->kind, file ? "file" : p->steps[i].name);
                assert_int_equal(p->steps[i].type->every_boot, STREQ(p->steps[i].name, "images"));
        }
        assert_int_equal(step_index(p, "network") >= 0, c->network.address != NULL);
        assert_int_equal(step_index(p, "ssh-keys") >= 0, c->ssh_authorized_keys != NULL);
        assert_int_equal(step_index(p, "kernel-modules") >= 0, strv_length(role->kernel_modules) > 0);
        assert_int_equal(step_index(p, "limits") >= 0, role->n_limits > 0);
        assert_int_equal(step_index(p, "services") >= 0, role->n_services > 0);
        assert_int_equal(step_index(p, "images") >= 0, strv_length(role->images) > 0);
        assert_int_equal(step_index(p, "node-labels") >= 0, role->manifests && role->manifests->label_key);
        /* one file step per entry of files whose when_lb_mode matches, in the role's order */
        size_t files = 0;
        ssize_t last = -1;
        for (size_t f = 0; f < role->n_files; f++) {
                _cleanup_free_ char *name = NULL;
                assert_true(asprintf(&name, "file:%s", role->files[f].dest) > 0);
                ssize_t k = step_index(p, name);
                assert_int_equal(k >= 0, file_applies_to(&role->files[f], c));
                if (k < 0)
                        continue;
                assert_ptr_equal(p->steps[k].data, &role->files[f]);
                assert_true(k > last);
                last = k;
                files++;
        }
        size_t file_steps = 0;
        for (size_t i = 0; i < p->n; i++)
                file_steps += strncmp(p->steps[i].name, "file:", 5) == 0;
        assert_int_equal(file_steps, files);
}

static void every_step_is_a_row_of_the_documented_table_present_when_it_says(void **state) {
        (void) state;
        for_every_example(steps_are_rows_of_the_table);
}

/* A worker (kubernetes: join) ends with kubeadm and applies no manifests; a
 * role that inits the cluster applies its manifests and labels the nodes
 * after kubeadm; a role outside the cluster has no kubeadm step. Then the
 * two roles the README names: the master, and the lb. */
static void workers_end_with_kubeadm_the_master_adds_the_cluster_the_lb_no_kubeadm(void **state) {
        (void) state;
        _cleanup_strv_free_ char **roles = test_role_names();
        size_t joins = 0, inits = 0, outside = 0;
        STRV_FOREACH(r, roles) {
                _cleanup_strv_free_ char **examples = test_role_examples(*r);
                STRV_FOREACH(e, examples) {
                        struct loaded l;
                        load(*e, &l);
                        const struct plan *p = &l.plan;
                        if (STREQ(l.role->kubernetes, "join")) {
                                assert_string_equal(p->steps[p->n - 1].name, "kubeadm");
                                assert_int_equal(step_index(p, "manifests"), -1);
                                assert_int_equal(step_index(p, "node-labels"), -1);
                                joins++;
                        } else if (STREQ(l.role->kubernetes, "init")) {
                                ssize_t k = step_index(p, "kubeadm");
                                assert_true(k >= 0);
                                assert_int_equal(step_index(p, "manifests"), k + 1);
                                assert_int_equal(step_index(p, "node-labels"), k + 2);
                                assert_int_equal((size_t) k + 3, p->n);
                                inits++;
                        } else {
                                assert_string_equal(l.role->kubernetes, "none");
                                assert_int_equal(step_index(p, "kubeadm"), -1);
                                assert_int_equal(step_index(p, "manifests"), -1);
                                outside++;
                        }
                        unload(&l);
                }
        }
        assert_true(joins > 0 && inits > 0 && outside > 0);

        struct loaded l;
        const char * const masters[] = { "cloud-init/examples/master", "cloud-init/examples/few-devices/master" };
        for (size_t i = 0; i < ELEMENTSOF(masters); i++) {
                load(masters[i], &l);
                assert_string_equal(l.role->kubernetes, "init");
                assert_string_equal(l.plan.steps[l.plan.n - 3].name, "kubeadm");
                assert_string_equal(l.plan.steps[l.plan.n - 2].name, "manifests");
                assert_string_equal(l.plan.steps[l.plan.n - 1].name, "node-labels");
                assert_true(step_index(&l.plan, "file:/etc/kubernetes/nodeos/kubeadm-init.yaml") >= 0);
                unload(&l);
        }
        const char * const lbs[] = { "cloud-init/examples/lb", "cloud-init/examples/few-devices/lb" };
        for (size_t i = 0; i < ELEMENTSOF(lbs); i++) {
                load(lbs[i], &l);
                assert_int_equal(step_index(&l.plan, "kubeadm"), -1);
                assert_int_equal(step_index(&l.plan, "images"), -1);
                assert_int_equal(step_index(&l.plan, "swap"), -1);
                assert_string_equal(l.plan.steps[l.plan.n - 1].name, "services");
                unload(&l);
        }
}

/* network is always planned (a seed without one takes the node back to
 * the image's DHCP, and a seed that drops it must remove what an earlier
 * one wrote); ssh-keys comes from the seed, right after network. */
static void the_seed_adds_network_and_ssh_keys(void **state) {
        (void) state;
        struct loaded l;
        load("cloud-init/examples/lb", &l);
        assert_int_equal(step_index(&l.plan, "network"), 1);
        assert_int_equal(step_index(&l.plan, "ssh-keys"), -1);
        size_t n = l.plan.n;

        char *address = l.cfg->network.address;
        char *keys[] = { (char *) "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ops", NULL };
        l.cfg->network.address = NULL;
        l.cfg->ssh_authorized_keys = keys;
        struct plan p;
        assert_int_equal(plan_build(l.cfg, l.role, &p), 0);
        assert_int_equal(p.n, n + 1);           /* network stays (DHCP), ssh-keys in */
        assert_string_equal(p.steps[0].name, "hostname");
        assert_string_equal(p.steps[1].name, "network");
        assert_string_equal(p.steps[2].name, "ssh-keys");
        for (size_t i = 3; i < p.n; i++)        /* the rest as before */
                assert_string_equal(p.steps[i].name, l.plan.steps[i - 1].name);
        plan_done(&p);
        assert_int_equal(p.n, 0);
        assert_null(p.steps);

        l.cfg->network.address = address;       /* both: network, then ssh-keys */
        assert_int_equal(plan_build(l.cfg, l.role, &p), 0);
        assert_int_equal(p.n, n + 1);
        assert_string_equal(p.steps[1].name, "network");
        assert_string_equal(p.steps[2].name, "ssh-keys");
        plan_done(&p);
        l.cfg->ssh_authorized_keys = NULL;
        unload(&l);
}

/* `node-agent plan`: one numbered line per step with its kind, the images
 * step marked as rerun at every boot. */
static void plan_print_numbers_each_step_with_its_kind(void **state) {
        (void) state;
        struct loaded l;
        load("cloud-init/examples/master", &l);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        plan_print(&l.plan, f);
        assert_int_equal(fclose(f), 0);
        size_t i = 0;
        for (char *save = NULL, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), i++) {
                assert_true(i < l.plan.n);
                const struct step *s = &l.plan.steps[i];
                char num[8], name[256], kind[64], extra[64] = "";
                assert_true(sscanf(line, "%7s %255s %63s %63[^\n]", num, name, kind, extra) >= 3);
                _cleanup_free_ char *want = NULL;
                assert_true(asprintf(&want, "%zu.", i + 1) > 0);
                assert_string_equal(num, want);
                assert_string_equal(name, s->name);
                assert_string_equal(kind, s->type->kind);
                assert_string_equal(extra, STREQ(s->name, "images") ? "(every boot)" : "");
        }
        assert_int_equal(i, l.plan.n);
        free(text);
        unload(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_role_plans_its_data_in_the_fixed_order),
                cmocka_unit_test(files_follow_the_lb_mode),
                cmocka_unit_test(every_step_is_a_row_of_the_documented_table_present_when_it_says),
                cmocka_unit_test(workers_end_with_kubeadm_the_master_adds_the_cluster_the_lb_no_kubeadm),
                cmocka_unit_test(the_seed_adds_network_and_ssh_keys),
                cmocka_unit_test(plan_print_numbers_each_step_with_its_kind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
