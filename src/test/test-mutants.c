/* SPDX-License-Identifier: Apache-2.0 */
/* validate is the whole truth (issue #16), as a property: thousands of
 * seeded random mutations of every example seed (values swapped for strings
 * with newlines, quotes, colons, "{{", unicode, huge and negative numbers,
 * empty values; lines dropped and duplicated). For each mutant, either the
 * validation `node-agent validate` runs refuses it with file:line:col, or
 * `node-agent run --root` completes every offline step. A mutant that
 * validates and then fails is printed whole.
 *
 * Deterministic: a fixed PRNG seed (MUTANTS_SEED overrides it, MUTANTS_N the
 * count per example seed). The long runs are `make fuzz`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "agent/engine.h"
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/config.h"
#include "shared/role.h"
#include "shared/seed.h"
#include "test-util.h"

#define ROLES "roles"
/* thousands in the plain build; the sanitized build runs a tenth of the
 * same sequence (same checks, 3x slower per mutant) to stay well under a
 * minute */
#if defined(__SANITIZE_ADDRESS__)
#define DEFAULT_PER_SEED 40
#else
#define DEFAULT_PER_SEED 250
#endif

static uint64_t rng;

static uint64_t next(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static size_t pick(size_t n) {
        return (size_t) (next() % n);
}

/* What a careless or hostile hand puts where a value goes. */
static const char * const nasty[] = {
        "", "\"\"", "''", "\"a\\nb\"", "'it''s'", "\"quo\\\"te\"", "a: b", "\"a: b\"", "{{namespace}}", "\"{{x}}\"",
        "\"{{#if a}}\"", "\"ü日本\"", "ü日本", "99999999999999999999", "-1", "0", "1e9", "0x10", "null", "~",
        "[]", "{}", "[a, b]", "{a: 1}", "\"1883\"", "yes", "Off", "30004", "32768", "29999", "65536", "-", "a b",
        "\"a\\tb\"", "*alias", "&anchor v", "!!binary AAAA", "%x", "@x", "`x`", "1.2.3.4", "::1", "fd00::/8",
        "192.168.0.10/33", "\"192.168.0.10:6443\"", "\"[::1]:0\"", "localhost", "LOCALHOST", "-x-", "x.", ".x",
        "\"2036-02-30T00:00:00Z\"", "true", "\"false\"", "\"sha256:00\"", "\"aaaaaa.bbbbbbbbbbbbbbbb\"",
        "\"\\u0000\"", "|", ">", "\"#\"", "# comment", "'---'", "\"...\"",
};

struct text {
        char **lines;
};

static char **split_lines(const char *s) {
        char **l = NULL;
        for (const char *p = s; *p;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t) (nl - p) : strlen(p);
                _cleanup_free_ char *line = strndup(p, n);
                assert_non_null(line);
                assert_int_equal(strv_extend(&l, line), 0);
                p += n + (nl ? 1 : 0);
        }
        return l;
}

/* One random mutation of user-data's lines (never the #cloud-config line);
 * describes it in *what. */
static char *mutate(char * const *orig, char *what, size_t what_size) {
        size_t n = strv_length(orig);
        char **l = NULL;
        size_t at = 1 + pick(n - 1);
        int op = (int) pick(10);
        for (size_t i = 0; i < n; i++) {
                const char *line = orig[i];
                _cleanup_free_ char *repl = NULL;
                if (i == at && op == 8) {               /* drop */
                        snprintf(what, what_size, "line %zu dropped: %s", i + 1, line);
                        continue;
                }
                if (i == at && op == 9) {               /* duplicate */
                        snprintf(what, what_size, "line %zu duplicated: %s", i + 1, line);
                        assert_int_equal(strv_extend(&l, line), 0);
                } else if (i == at) {                   /* a value replaced */
                        const char *v = nasty[pick(ELEMENTSOF(nasty))];
                        const char *colon = strstr(line, ": "), *dash = strstr(line, "- ");
                        const char *cut = colon ? colon + 2 : dash ? dash + 2 : NULL;
                        if (cut)
                                assert_true(asprintf(&repl, "%.*s%s", (int) (cut - line), line, v) > 0);
                        else
                                assert_true(asprintf(&repl, "%s %s", line, v) > 0);
                        snprintf(what, what_size, "line %zu: '%s' -> '%s'", i + 1, line, repl);
                        line = repl;
                }
                assert_int_equal(strv_extend(&l, line), 0);
        }
        char *s = strv_join(l, "\n");
        strv_free(l);
        char *t = NULL;
        assert_true(asprintf(&t, "%s\n", s) > 0);
        free(s);
        return t;
}

struct counts {
        size_t mutants, refused, applied;
};

/* Runs the agent on a tree with stdout and stderr out of the way. */
static int run_quietly(const char *root, const char *seed_dir) {
        struct saved_output saved = output_to("/dev/null");
        struct engine_options o = { .root = root, .seed_dir = seed_dir, .roles_dir = ROLES };
        int status = engine_run(&o);
        output_restore(saved);
        return status;
}

/* A seed to mutate: its files' contents (net NULL: no network-config) and
 * which one the mutations go to. */
struct base_seed {
        const char *name;
        char *meta, *user, *net;
        bool mutate_net;
};

static void check_mutants_of(const struct base_seed *b, size_t per_seed, const regex_t *positioned, struct counts *c) {
        _cleanup_strv_free_ char **lines = split_lines(b->mutate_net ? b->net : b->user);
        for (size_t k = 0; k < per_seed; k++) {
                char what[1024];
                _cleanup_free_ char *mutant = mutate(lines, what, sizeof(what));
                const char *user = b->mutate_net ? b->user : mutant, *net = b->mutate_net ? mutant : b->net;
                struct seed s = { .meta_data = strdup(b->meta), .meta_len = strlen(b->meta), .user_data = strdup(user),
                                  .user_len = strlen(user), .meta_name = strdup("meta-data"), .user_name = strdup("user-data"),
                                  .source = strdup("mutant") };
                if (net) {
                        s.network_config = strdup(net);
                        s.network_len = strlen(net);
                        s.network_name = strdup("network-config");
                        s.network_config_says_something = seed_file_says_something(net);
                }
                struct role_catalog *cat = NULL;
                struct node_config *cfg = NULL;
                struct diag d = {};
                c->mutants++;
                int r = seed_load_config(ROLES, &s, &cat, &cfg, &d);
                if (r >= 0)
                        r = seed_render_check(cat, cfg, NULL, &d);
                if (r < 0) {
                        c->refused++;
                        if (diag_count(&d) == 0 || regexec(positioned, d.lines[0], 0, NULL, 0) != 0) {
                                print_message("# %s, mutant %zu (%s) refused without file:line:col: %s\n", b->name, k, what,
                                              diag_count(&d) ? d.lines[0] : strerror(-r));
                                fail();
                        }
                } else {
                        /* validated: a run must complete every offline step */
                        _cleanup_free_ char *dir = make_tmpdir("nodeos-mutant-"), *root = NULL, *seed = NULL;
                        assert_true(asprintf(&root, "%s/root", dir) > 0 && asprintf(&seed, "%s/seed", dir) > 0);
                        assert_int_equal(mkdir_p(root, 0755), 0);
                        assert_int_equal(mkdir_p(seed, 0700), 0);
                        write_text(seed, "meta-data", b->meta);
                        write_text(seed, "user-data", user);
                        if (net)
                                write_text(seed, "network-config", net);
                        int status = run_quietly(root, seed);
                        if (status != 0) {
                                _cleanup_free_ char *state = NULL, *sp = NULL;
                                assert_true(asprintf(&sp, "%s/var/lib/node-agent/state.json", root) > 0);
                                (void) read_full_file(sp, &state, NULL);
                                print_message("# %s, mutant %zu (%s) validated, then the run failed (exit %d).\n"
                                              "# state: %s\n# the mutant:\n%s\n", b->name, k, what, status, state ? state : "-", mutant);
                                rm_rf(dir);
                                fail();
                        }
                        c->applied++;
                        rm_rf(dir);
                }
                diag_done(&d);
                config_free(cfg);
                role_catalog_free(cat);
                seed_done(&s);
        }
}

static void read_seed_file(const char *dir, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL;
        assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
        assert_int_equal(read_full_file(path, ret, NULL), 0);
}

static void base_seed_done(struct base_seed *b) {
        free(b->meta);
        free(b->user);
        free(b->net);
}

/* Every example seed directory (those with a meta-data), sorted. */
static char **example_seeds(void) {
        char **l = NULL;
        const char * const bases[] = { "cloud-init/examples", "cloud-init/examples/few-devices" };
        for (size_t b = 0; b < ELEMENTSOF(bases); b++) {
                struct dirent **names = NULL;
                int n = scandir(bases[b], &names, NULL, alphasort);
                assert_true(n > 0);
                for (int i = 0; i < n; i++) {
                        _cleanup_free_ char *dir = NULL, *meta = NULL;
                        assert_true(asprintf(&dir, "%s/%s", bases[b], names[i]->d_name) > 0 &&
                                    asprintf(&meta, "%s/meta-data", dir) > 0);
                        if (names[i]->d_name[0] != '.' && access(meta, F_OK) == 0)
                                assert_int_equal(strv_extend(&l, dir), 0);
                        free(names[i]);
                }
                free(names);
        }
        return l;
}

static void every_mutant_is_refused_with_a_position_or_applies(void **state) {
        (void) state;
        const char *seed_env = getenv("MUTANTS_SEED"), *n_env = getenv("MUTANTS_N");
        rng = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eed5eedULL;
        size_t per_seed = n_env ? strtoul(n_env, NULL, 10) : DEFAULT_PER_SEED;
        regex_t positioned;
        assert_int_equal(regcomp(&positioned, "^[^ ]+:[0-9]+:[0-9]+: ", REG_EXTENDED | REG_NOSUB), 0);
        log_set_max_level(LOG_LEVEL_ERR);
        _cleanup_strv_free_ char **examples = example_seeds();
        struct counts c = {};
        assert_true(strv_length(examples) >= 6);
        STRV_FOREACH(e, examples) {
                struct base_seed b = { .name = *e };
                read_seed_file(*e, "meta-data", &b.meta);
                read_seed_file(*e, "user-data", &b.user);
                check_mutants_of(&b, per_seed, &positioned, &c);
                base_seed_done(&b);
        }
        print_message("# %zu mutants of %zu example seeds: %zu refused with a position, %zu applied by run --root\n",
                      c.mutants, strv_length(examples), c.refused, c.applied);
        /* a mutation that changes nothing the agent reads is rare; most must
         * be refused, and some must get through to the run */
        assert_true(c.refused > c.mutants / 4);
        assert_true(c.applied > 0);
        regfree(&positioned);
}

/* The network-configs of tests/data/network-config, each beside the kafka
 * example whose user-data network section is dropped (one source of
 * network truth): mutants of the network-config, same property. */
static void every_network_config_mutant_is_refused_with_a_position_or_applies(void **state) {
        (void) state;
        const char *seed_env = getenv("MUTANTS_SEED"), *n_env = getenv("MUTANTS_N");
        rng = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eed5eedULL;
        size_t per_seed = n_env ? strtoul(n_env, NULL, 10) : DEFAULT_PER_SEED;
        regex_t positioned;
        assert_int_equal(regcomp(&positioned, "^[^ ]+:[0-9]+:[0-9]+: ", REG_EXTENDED | REG_NOSUB), 0);
        log_set_max_level(LOG_LEVEL_ERR);
        struct dirent **names = NULL;
        int n = scandir("tests/data/network-config", &names, NULL, alphasort);
        struct counts c = {};
        size_t cases = 0;
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *dir = NULL, *user = NULL;
                struct base_seed b = { .mutate_net = true };
                assert_true(asprintf(&dir, "tests/data/network-config/%s", names[i]->d_name) > 0);
                if (names[i]->d_name[0] != '.' && access(dir, X_OK) == 0 && strchr(names[i]->d_name, '.') == NULL) {
                        b.name = dir;
                        read_seed_file(dir, "network-config", &b.net);
                        read_seed_file("cloud-init/examples/kafka", "meta-data", &b.meta);
                        read_seed_file("cloud-init/examples/kafka", "user-data", &user);
                        /* "network:\n  address: ...\n" out */
                        char *sec = strstr(user, "\nnetwork:\n");
                        assert_non_null(sec);
                        char *end = strstr(sec + 1, "\n  address:");
                        assert_non_null(end);
                        end = strchr(end + 1, '\n');
                        memmove(sec + 1, end + 1, strlen(end + 1) + 1);
                        b.user = TAKE_PTR(user);
                        check_mutants_of(&b, per_seed, &positioned, &c);
                        cases++;
                }
                base_seed_done(&b);
                free(names[i]);
        }
        free(names);
        print_message("# %zu mutants of %zu network-configs: %zu refused with a position, %zu applied by run --root\n",
                      c.mutants, cases, c.refused, c.applied);
        assert_true(cases >= 3);
        assert_true(c.refused > c.mutants / 4);
        assert_true(c.applied > 0);
        regfree(&positioned);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(every_mutant_is_refused_with_a_position_or_applies),
                cmocka_unit_test(every_network_config_mutant_is_refused_with_a_position_or_applies),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
