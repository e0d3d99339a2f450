/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of seed.c: a NoCloud seed read from a directory (its two
 * files, the names its messages use), the one validation path the agent and
 * the fleet tool share (seed_load_config), and the render check a run does
 * before its first step (seed_render_check). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/manifest-decl.h"
#include "shared/role.h"
#include "shared/seed.h"
#include "test-util.h"

#define BAD_SEEDS "tests/data/bad-seeds"

static void print_diag(const struct diag *d) {
        STRV_FOREACH(l, d->lines)
                print_message("#   %s\n", *l);
}

/* --- reading a seed directory --------------------------------------------------- */

static void a_directory_without_meta_data_is_no_seed(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-seed-");
        struct seed s = {};
        assert_int_equal(seed_read_dir(dir, &s), -ENOENT);
        /* user-data alone is not a seed either: meta-data is what NoCloud looks for */
        write_text(dir, "user-data", "#cloud-config\n");
        assert_int_equal(seed_read_dir(dir, &s), -ENOENT);
        assert_int_equal(seed_read_dir("tests/data/no-such-seed", &s), -ENOENT);
        /* nothing handed back on failure */
        assert_null(s.source);
        assert_null(s.meta_data);
        assert_null(s.user_data);
        assert_null(s.meta_name);
        rm_rf(dir);
}

static void meta_data_without_user_data_is_a_broken_seed(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-seed-");
        struct seed s = {};
        write_text(dir, "meta-data", "instance-id: i-1\n");
        assert_int_equal(seed_read_dir(dir, &s), -EBADMSG);
        assert_null(s.meta_data);
        assert_null(s.source);
        /* a user-data that is there but unreadable is that error, not "missing" */
        _cleanup_free_ char *sub = NULL;
        assert_true(asprintf(&sub, "%s/user-data", dir) > 0);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(seed_read_dir(dir, &s), -EISDIR);
        assert_null(s.meta_data);
        rm_rf(dir);
}

static void a_seed_dir_keeps_both_files_and_names_them(void **state) {
        (void) state;
        _cleanup_free_ char *dir = make_tmpdir("nodeos-seed-"), *source = NULL, *meta = NULL, *user = NULL;
        static const char meta_text[] = "instance-id: i-1\nlocal-hostname: n1\n";
        static const char user_text[] = "#cloud-config\nrole: lb\n";
        write_text(dir, "meta-data", meta_text);
        write_text(dir, "user-data", user_text);
        struct seed s = {};
        assert_int_equal(seed_read_dir(dir, &s), 0);
        assert_true(asprintf(&source, "seed-dir:%s", dir) > 0 && asprintf(&meta, "%s/meta-data", dir) > 0 &&
                    asprintf(&user, "%s/user-data", dir) > 0);
        assert_string_equal(s.source, source);
        assert_string_equal(s.meta_name, meta);
        assert_string_equal(s.user_name, user);
        assert_string_equal(s.meta_data, meta_text);
        assert_int_equal(s.meta_len, strlen(meta_text));
        assert_string_equal(s.user_data, user_text);
        assert_int_equal(s.user_len, strlen(user_text));
        seed_done(&s);
        assert_null(s.source);
        assert_null(s.user_data);
        assert_int_equal(s.user_len, 0);

        /* another delivery: the source kept as given, messages name the device */
        assert_int_equal(seed_read_files(dir, "cidata:/dev/vdb", "/dev/vdb", &s), 0);
        assert_string_equal(s.source, "cidata:/dev/vdb");
        assert_string_equal(s.meta_name, "/dev/vdb/meta-data");
        assert_string_equal(s.user_name, "/dev/vdb/user-data");
        assert_string_equal(s.user_data, user_text);
        seed_done(&s);
        /* an empty user-data is read (validation says what is wrong with it) */
        write_text(dir, "user-data", "");
        assert_int_equal(seed_read_dir(dir, &s), 0);
        assert_string_equal(s.user_data, "");
        assert_int_equal(s.user_len, 0);
        seed_done(&s);
        rm_rf(dir);
}

/* --- seed_load_config -------------------------------------------------------------- */

/* The value of key in a meta-data text ("key: value" lines). */
static char *meta_value(const char *meta, const char *key) {
        size_t kl = strlen(key);
        for (const char *p = meta; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, key, kl) == 0 && p[kl] == ':') {
                        const char *v = p + kl + 1;
                        v += strspn(v, " ");
                        return strndup(v, strcspn(v, "\r\n"));
                }
        return NULL;
}

static void every_example_seed_loads_for_its_role_and_renders(void **state) {
        (void) state;
        _cleanup_strv_free_ char **roles = test_role_names();
        size_t seeds = 0;
        STRV_FOREACH(name, roles) {
                _cleanup_strv_free_ char **examples = test_role_examples(*name);
                STRV_FOREACH(e, examples) {
                        struct seed s = {};
                        struct role_catalog *cat = NULL;
                        struct node_config *cfg = NULL;
                        struct diag d = {};
                        assert_int_equal(seed_read_dir(*e, &s), 0);
                        int r = seed_load_config("roles", &s, &cat, &cfg, &d);
                        if (r < 0 || diag_count(&d) > 0) {
                                print_message("# %s:\n", *e);
                                print_diag(&d);
                        }
                        assert_int_equal(r, 0);
                        assert_int_equal(diag_count(&d), 0);
                        assert_non_null(cat);
                        assert_non_null(cfg);
                        assert_string_equal(cfg->role, *name);
                        assert_non_null(role_catalog_find(cat, cfg->role));
                        _cleanup_free_ char *id = meta_value(s.meta_data, "instance-id");
                        assert_non_null(id);
                        assert_string_equal(cfg->instance_id, id);
                        /* the messages of this config name the seed's files */
                        assert_string_equal(cfg->user_data_file, s.user_name);
                        /* and all a run renders from it renders */
                        assert_int_equal(seed_render_check(cat, cfg, NULL, &d), 0);
                        assert_int_equal(diag_count(&d), 0);
                        config_free(cfg);
                        role_catalog_free(cat);
                        seed_done(&s);
                        diag_done(&d);
                        seeds++;
                }
        }
        assert_true(seeds >= strv_length(roles));
}

static int not_hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

/* Every case of the malformed-seed corpus, through the path the agent and
 * the fleet tool take: -EINVAL, exactly its expected-error lines (the
 * positions name the seed's files), and nothing handed back. */
static void every_bad_seed_is_refused_with_its_expected_lines(void **state) {
        (void) state;
        struct dirent **names = NULL;
        int n = scandir(BAD_SEEDS, &names, not_hidden, alphasort);
        assert_true(n >= 20);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *dir = NULL, *ef = NULL, *expected = NULL;
                assert_true(asprintf(&dir, BAD_SEEDS "/%s", names[i]->d_name) > 0 &&
                            asprintf(&ef, "%s/expected-error", dir) > 0);
                assert_int_equal(read_full_file(ef, &expected, NULL), 0);
                struct seed s = {};
                struct role_catalog *cat = NULL;
                struct node_config *cfg = NULL;
                struct diag d = {};
                assert_int_equal(seed_read_dir(dir, &s), 0);
                int r = seed_load_config("roles", &s, &cat, &cfg, &d);
                _cleanup_free_ char *got = diag_join(&d);
                _cleanup_free_ char *got_nl = NULL;
                assert_true(asprintf(&got_nl, "%s\n", got ? got : "") > 0);
                if (r != -EINVAL || !STREQ(got_nl, expected))
                        print_message("# %s: r=%d\n# want:\n%s# got:\n%s", dir, r, expected, got_nl);
                assert_int_equal(r, -EINVAL);
                assert_string_equal(got_nl, expected);
                assert_null(cat);
                assert_null(cfg);
                diag_done(&d);
                seed_done(&s);
                free(names[i]);
        }
        free(names);
}

static void a_missing_or_empty_role_catalog_is_refused_and_hands_back_nothing(void **state) {
        (void) state;
        struct seed s = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        struct diag d = {};
        assert_int_equal(seed_read_dir("cloud-init/examples/lb", &s), 0);
        assert_int_equal(seed_load_config("tests/data/no-such-roles", &s, &cat, &cfg, &d), -ENOENT);
        assert_null(cat);
        assert_null(cfg);
        assert_int_equal(diag_count(&d), 1);
        assert_non_null(strstr(d.lines[0], "tests/data/no-such-roles"));
        assert_non_null(strstr(d.lines[0], "cannot read the role catalog: No such file or directory"));
        diag_done(&d);
        _cleanup_free_ char *empty = make_tmpdir("nodeos-roles-");
        assert_int_equal(seed_load_config(empty, &s, &cat, &cfg, &d), -ENOENT);
        assert_null(cat);
        assert_null(cfg);
        assert_int_equal(diag_count(&d), 1);
        assert_non_null(strstr(d.lines[0], "no roles found (expected <role>/role.yaml)"));
        diag_done(&d);
        seed_done(&s);
        rm_rf(empty);
}

/* --- seed_render_check ------------------------------------------------------------- */

struct loaded {
        struct seed seed;
        struct role_catalog *cat;
        struct node_config *cfg;
        struct role *role;
};

static void load(const char *dir, struct loaded *l) {
        struct diag d = {};
        *l = (struct loaded) {};
        assert_int_equal(seed_read_dir(dir, &l->seed), 0);
        assert_int_equal(seed_load_config("roles", &l->seed, &l->cat, &l->cfg, &d), 0);
        for (size_t i = 0; i < l->cat->n; i++)
                if (STREQ(l->cat->roles[i]->name, l->cfg->role))
                        l->role = l->cat->roles[i];
        assert_non_null(l->role);
        diag_done(&d);
}

static void unload(struct loaded *l) {
        config_free(l->cfg);
        role_catalog_free(l->cat);
        seed_done(&l->seed);
}

/* "<user-data>:<line>:<col>: " of the seed's role: key, where render
 * problems are reported (the seed asked for this role's files). */
static char *at_role_key(const struct loaded *l) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s:%zu:%zu: ", l->cfg->user_data_file, l->cfg->role_pos.line, l->cfg->role_pos.col) > 0);
        /* and that is the line "role: <name>" of the file */
        size_t line = 1;
        const char *q = l->seed.user_data;
        while (line < l->cfg->role_pos.line && (q = strchr(q, '\n')))
                q++, line++;
        assert_non_null(q);
        assert_int_equal(strncmp(q, "role:", 5), 0);
        return p;
}

static void a_file_the_role_cannot_render_is_reported_at_the_role_key(void **state) {
        (void) state;
        struct loaded l;
        load("cloud-init/examples/lb", &l);
        struct diag d = {};
        /* the lb's haproxy.cfg with a renderer no agent has (the loader
         * refuses such a role file: here it is changed after loading) */
        struct role_file *haproxy = NULL;
        for (size_t i = 0; i < l.role->n_files; i++)
                if (STREQ(l.role->files[i].dest, "/etc/haproxy/haproxy.cfg"))
                        haproxy = &l.role->files[i];
        assert_non_null(haproxy);
        char *renderer = haproxy->renderer;
        haproxy->renderer = (char *) "no-such-renderer";
        assert_int_equal(seed_render_check(l.cat, l.cfg, NULL, &d), -EINVAL);
        haproxy->renderer = renderer;
        _cleanup_free_ char *at = at_role_key(&l), *want = NULL;
        assert_true(asprintf(&want, "%srole lb: /etc/haproxy/haproxy.cfg cannot be rendered from this seed: unknown renderer", at) > 0);
        if (diag_count(&d) != 1)
                print_diag(&d);
        assert_int_equal(diag_count(&d), 1);
        assert_string_equal(d.lines[0], want);
        diag_done(&d);
        /* the nginx.conf of the other lb mode is not rendered for this seed */
        struct role_file *nginx = NULL;
        for (size_t i = 0; i < l.role->n_files; i++)
                if (STREQ(l.role->files[i].dest, "/etc/nginx/nginx.conf"))
                        nginx = &l.role->files[i];
        assert_non_null(nginx);
        renderer = nginx->renderer;
        nginx->renderer = (char *) "no-such-renderer";
        assert_int_equal(seed_render_check(l.cat, l.cfg, NULL, &d), 0);
        assert_int_equal(diag_count(&d), 0);
        nginx->renderer = renderer;
        /* a config for a role the catalog does not have */
        char *role = l.cfg->role;
        l.cfg->role = (char *) "no-such-role";
        assert_int_equal(seed_render_check(l.cat, l.cfg, NULL, &d), -EINVAL);
        l.cfg->role = role;
        diag_done(&d);
        unload(&l);
}

/* Appends text to dir/name. */
static void append_text(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        _cleanup_fclose_ FILE *f = fopen(p, "ae");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
}

/* The manifests' problems are reported against the seed, each cause once
 * however many templates have it, naming where it was first seen. */
static void manifest_problems_are_reported_once_per_cause(void **state) {
        (void) state;
        struct loaded l;
        load("cloud-init/examples/master", &l);
        assert_non_null(l.role->manifests);
        /* the master's role directory, copied, its templates then broken:
         * one unknown variable in two files, another in a third */
        _cleanup_free_ char *tmp = make_tmpdir("nodeos-seed-role-"), *copy = NULL, *mdir = NULL;
        struct exec_result er;
        assert_int_equal(exec_run((char *[]) { "cp", "-r", l.role->dir, tmp, NULL }, 10000, &er), 0);
        assert_int_equal(er.status, 0);
        exec_result_done(&er);
        assert_true(asprintf(&copy, "%s/master", tmp) > 0);
        assert_true(asprintf(&mdir, "%s/%s", copy, l.role->manifests->dir) > 0);
        struct dirent **names = NULL;
        int n = scandir(mdir, &names, not_hidden, alphasort);
        assert_true(n >= 3);
        append_text(mdir, names[0]->d_name, "# {{no_such_var}}\n");
        append_text(mdir, names[1]->d_name, "# {{no_such_var}}\n");
        append_text(mdir, names[2]->d_name, "# {{another_var}}\n");
        _cleanup_free_ char *first = NULL;
        assert_true(asprintf(&first, "(first at %s/%s:", mdir, names[0]->d_name) > 0);
        for (int i = 0; i < n; i++)
                free(names[i]);
        free(names);

        char *dir = l.role->dir;
        l.role->dir = copy;
        struct diag d = {};
        int r = seed_render_check(l.cat, l.cfg, NULL, &d);
        l.role->dir = dir;
        if (diag_count(&d) != 2)
                print_diag(&d);
        assert_int_equal(r, -EINVAL);
        assert_int_equal(diag_count(&d), 2);
        _cleanup_free_ char *at = at_role_key(&l);
        size_t once = 0, other = 0;
        STRV_FOREACH(line, d.lines) {
                assert_int_equal(strncmp(*line, at, strlen(at)), 0);
                assert_non_null(strstr(*line, "role master: its manifests cannot be rendered from this seed: "));
                if (strstr(*line, "its manifests cannot be rendered from this seed: {{no_such_var}}: the variable is not declared")) {
                        once++;
                        assert_non_null(strstr(*line, first));
                        /* the problem once, then only where */
                        assert_null(strstr(strstr(*line, "{{no_such_var}}") + 1, "{{no_such_var}}"));
                }
                other += strstr(*line, "its manifests cannot be rendered from this seed: {{another_var}}: the variable is not declared") != NULL;
        }
        assert_int_equal(once, 1);
        assert_int_equal(other, 1);
        diag_done(&d);
        rm_rf(tmp);
        unload(&l);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_directory_without_meta_data_is_no_seed),
                cmocka_unit_test(meta_data_without_user_data_is_a_broken_seed),
                cmocka_unit_test(a_seed_dir_keeps_both_files_and_names_them),
                cmocka_unit_test(every_example_seed_loads_for_its_role_and_renders),
                cmocka_unit_test(every_bad_seed_is_refused_with_its_expected_lines),
                cmocka_unit_test(a_missing_or_empty_role_catalog_is_refused_and_hands_back_nothing),
                cmocka_unit_test(a_file_the_role_cannot_render_is_reported_at_the_role_key),
                cmocka_unit_test(manifest_problems_are_reported_once_per_cause),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
