/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of engine.c, the run: in-process on scratch roots (--root),
 * so nothing live is touched; the lb example needs neither Docker nor
 * kubeadm, and its haproxy.cfg is checked by the real haproxy.
 *
 * Under a root other than "/" the steps get ctx.live = false: the services
 * step skips (no sd-bus connection is opened), the file step does not
 * try-restart, hostname/network/swap/modules/sysctl touch nothing outside
 * the tree, and report.c sends no sd_notify (checked below with a socket of
 * the test's own as $NOTIFY_SOCKET). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "agent/engine.h"
#include "agent/plan.h"
#include "agent/report.h"
#include "agent/seedtrust.h"
#include "basic/diag.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/strv.h"
#include "shared/pki.h"
#include "shared/role.h"
#include "shared/seed.h"
#include "test-util.h"

struct tree {
        char *dir, *root, *log;
};

static void tree_make(struct tree *t) {
        t->dir = make_tmpdir("nodeos-engine-");
        assert_true(asprintf(&t->root, "%s/root", t->dir) > 0 && asprintf(&t->log, "%s/run.log", t->dir) > 0);
        assert_int_equal(mkdir(t->root, 0755), 0);
}

static void tree_free(struct tree *t) {
        rm_rf(t->dir);
        free(t->dir);
        free(t->root);
        free(t->log);
}

static int run(const struct tree *t, const char *seed) {
        struct saved_output saved = output_to(t->log);
        struct engine_options o = { .root = t->root, .seed_dir = seed, .roles_dir = "roles" };
        int status = engine_run(&o);
        output_restore(saved);
        return status;
}

static char *in_root(const struct tree *t, const char *rel) {
        _cleanup_free_ char *text = NULL;
        return read_file_in_root(t->root, rel, &text, NULL) >= 0 ? TAKE_PTR(text) : NULL;
}

static bool log_has(const struct tree *t, const char *needle) {
        _cleanup_free_ char *text = NULL;
        return read_full_file(t->log, &text, NULL) >= 0 && strstr(text, needle);
}

static void a_run_configures_and_a_rerun_only_skips(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success"), *cfg = in_root(&t, "/etc/haproxy/haproxy.cfg");
        assert_non_null(ok);
        assert_non_null(strstr(ok, "instance=lb-"));
        assert_non_null(cfg);
        /* the same instance again: success, and the configured node is left as it is */
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-"));
        _cleanup_free_ char *cfg2 = in_root(&t, "/etc/haproxy/haproxy.cfg");
        assert_string_equal(cfg, cfg2);
        tree_free(&t);
}

static void a_seed_that_fails_validation_applies_nothing(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "tests/data/bad-seeds/bad-lb-mode"), 1);
        assert_true(log_has(&t, "NODEOS-AGENT: FAILED"));
        assert_true(log_has(&t, "lb.mode: expected haproxy or nginx, got 'envoy'"));
        /* only the agent's own record: no file of the node was written */
        _cleanup_free_ char *etc = NULL, *failed = in_root(&t, "/var/lib/node-agent/failed");
        assert_true(asprintf(&etc, "%s/etc", t.root) > 0);
        assert_int_equal(access(etc, F_OK), -1);
        assert_non_null(failed);
        tree_free(&t);
}

static void a_seed_for_another_role_than_the_image_is_refused(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(write_file_atomic(t.root, "/usr/share/nodeos/role", "verne\n", 6, 0644, -1, -1, NULL), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 1);
        assert_true(log_has(&t, "seed role 'lb' does not match this image, which is built for role 'verne'"));
        tree_free(&t);
}

static void a_missing_seed_directory_fails_naming_it(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "tests/data/no-such-seed"), 1);
        assert_true(log_has(&t, "NODEOS-AGENT: FAILED"));
        tree_free(&t);
}

/* --- state, resumption, instances ----------------------------------------------- */

static cJSON *state_json(const struct tree *t) {
        _cleanup_free_ char *text = in_root(t, "/var/lib/node-agent/state.json");
        assert_non_null(text);
        cJSON *j = cJSON_Parse(text);
        assert_non_null(j);
        return j;
}

static const char *json_str(const cJSON *o, const char *key) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *step_status_in(const cJSON *state, const char *step) {
        return json_str(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(state, "steps"), step), "status");
}

/* The step names of the plan of a seed, as plan.c builds it. */
static char **plan_of(const char *seed_dir) {
        struct seed seed = {};
        struct role_catalog *cat = NULL;
        struct node_config *cfg = NULL;
        struct diag d = {};
        struct plan p;
        char **names = NULL;
        assert_int_equal(seed_read_dir(seed_dir, &seed), 0);
        assert_int_equal(seed_load_config("roles", &seed, &cat, &cfg, &d), 0);
        assert_int_equal(plan_build(cfg, role_catalog_find(cat, cfg->role), &p), 0);
        for (size_t i = 0; i < p.n; i++)
                assert_int_equal(strv_extend(&names, p.steps[i].name), 0);
        plan_done(&p);
        config_free(cfg);
        role_catalog_free(cat);
        seed_done(&seed);
        diag_done(&d);
        return names;
}

/* The instance-id of an example seed (the examples are regenerated with
 * fresh rollout ids: not pinned here). */
static char *instance_of(const char *seed_dir) {
        struct seed seed = {};
        assert_int_equal(seed_read_dir(seed_dir, &seed), 0);
        const char *p = strstr(seed.meta_data, "instance-id:");
        assert_non_null(p);
        p += strlen("instance-id:");
        p += strspn(p, " ");
        char *id = strndup(p, strcspn(p, " \r\n"));
        seed_done(&seed);
        assert_non_null(id);
        return id;
}

static size_t log_count(const struct tree *t, const char *needle) {
        _cleanup_free_ char *text = NULL;
        size_t n = 0;
        assert_true(read_full_file(t->log, &text, NULL) >= 0);
        for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* The log line report.c prints for a step of the apply stage. */
static bool log_has_step(const struct tree *t, const char *step, const char *status) {
        _cleanup_free_ char *line = NULL;
        assert_true(asprintf(&line, "stage=apply step=%s status=%s ", step, status) > 0);
        return log_has(t, line);
}

static void every_step_is_recorded_and_a_rerun_reports_each_unchanged(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_strv_free_ char **steps = plan_of("cloud-init/examples/lb");
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        cJSON *j = state_json(&t);
        _cleanup_free_ char *id = instance_of("cloud-init/examples/lb");
        assert_string_equal(json_str(j, "instance_id"), id);
        assert_string_equal(json_str(j, "role"), "lb");
        assert_string_equal(json_str(j, "result"), "success");
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "steps")), (int) strv_length(steps));
        STRV_FOREACH(s, steps) {
                const char *st = step_status_in(j, *s);
                assert_non_null(st);
                /* services: never started under --root, nothing asked of systemd */
                assert_string_equal(st, STREQ(*s, "services") ? "skipped" : "done");
                assert_true(log_has_step(&t, *s, st));
        }
        cJSON_Delete(j);
        assert_true(log_has(&t, "not starting haproxy.service: offline root"));
        assert_null(in_root(&t, "/var/lib/node-agent/failed"));

        /* the rerun applies nothing: every step "unchanged", the file not rewritten */
        _cleanup_free_ char *cfg = NULL;
        assert_true(asprintf(&cfg, "%s/etc/haproxy/haproxy.cfg", t.root) > 0);
        const struct timespec old[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
        assert_int_equal(utimensat(AT_FDCWD, cfg, old, 0), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        STRV_FOREACH(s, steps)
                assert_true(log_has_step(&t, *s, "unchanged"));
        assert_int_equal(log_count(&t, "stage=apply "), strv_length(steps));
        assert_int_equal(log_count(&t, "status=unchanged "), strv_length(steps));
        struct stat st;
        assert_int_equal(stat(cfg, &st), 0);
        assert_int_equal(st.st_mtim.tv_sec, 1000000000);
        j = state_json(&t);
        assert_string_equal(json_str(j, "result"), "success");
        cJSON_Delete(j);
        tree_free(&t);
}

static void a_failed_step_stops_the_run_and_the_rerun_resumes_there(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        /* a file where the step needs a directory: the file step fails */
        assert_int_equal(write_file_atomic(t.root, "/etc/haproxy", "in the way\n", 11, 0644, -1, -1, NULL), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 1);
        _cleanup_free_ char *id = instance_of("cloud-init/examples/lb"), *failed_line = NULL, *ok_line = NULL;
        assert_true(asprintf(&failed_line, "NODEOS-AGENT: FAILED instance=%s role=lb", id) > 0 &&
                    asprintf(&ok_line, "instance=%s role=lb", id) > 0);
        assert_true(log_has(&t, failed_line));
        _cleanup_free_ char *failed = in_root(&t, "/var/lib/node-agent/failed");
        assert_non_null(failed);
        assert_non_null(strstr(failed, "step file:/etc/haproxy/haproxy.cfg: cannot write /etc/haproxy/haproxy.cfg"));
        assert_null(in_root(&t, "/var/lib/node-agent/success"));
        cJSON *j = state_json(&t);
        assert_string_equal(json_str(j, "result"), "failed");
        assert_string_equal(step_status_in(j, "hostname"), "done");
        assert_string_equal(step_status_in(j, "limits"), "done");
        assert_string_equal(step_status_in(j, "file:/etc/haproxy/haproxy.cfg"), "failed");
        assert_null(step_status_in(j, "services"));             /* the run stopped there */
        cJSON_Delete(j);

        /* the obstacle gone, the same instance resumes at the failed step */
        _cleanup_free_ char *obstacle = NULL;
        assert_true(asprintf(&obstacle, "%s/etc/haproxy", t.root) > 0);
        assert_int_equal(unlink(obstacle), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has_step(&t, "hostname", "unchanged"));
        assert_true(log_has_step(&t, "limits", "unchanged"));
        assert_true(log_has_step(&t, "file:/etc/haproxy/haproxy.cfg", "done"));
        assert_true(log_has_step(&t, "services", "skipped"));
        assert_null(in_root(&t, "/var/lib/node-agent/failed"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success");
        assert_non_null(ok);
        assert_non_null(strstr(ok, ok_line));
        tree_free(&t);
}

/* The success sentinel is what says an instance is configured: with the
 * state file lost (a torn write, a cleaned /var/lib), the same instance
 * still applies nothing again. */
static void a_completed_instance_stays_done_without_its_state_file(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_strv_free_ char **steps = plan_of("cloud-init/examples/lb");
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        _cleanup_free_ char *sp = NULL;
        assert_true(asprintf(&sp, "%s/var/lib/node-agent/state.json", t.root) > 0);
        assert_int_equal(unlink(sp), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_int_equal(log_count(&t, "status=unchanged "), strv_length(steps));
        assert_int_equal(log_count(&t, "stage=apply "), strv_length(steps));
        tree_free(&t);
}

static void a_new_instance_id_starts_over(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        /* the same user-data under another instance-id */
        _cleanup_free_ char *seed = NULL, *user = NULL;
        assert_true(asprintf(&seed, "%s/seed", t.dir) > 0);
        assert_int_equal(mkdir(seed, 0700), 0);
        assert_int_equal(read_full_file("cloud-init/examples/lb/user-data", &user, NULL), 0);
        write_text(seed, "meta-data", "instance-id: lb-second\nlocal-hostname: lb\n");
        write_text(seed, "user-data", user);
        /* unsigned, on a configured node: refused, the node stays as it is */
        assert_int_equal(run(&t, seed), 0);
        assert_true(log_has(&t, "step=seed status=refused"));
        assert_true(log_has(&t, "an unsigned seed (instance lb-second) refused"));
        assert_false(log_has_step(&t, "hostname", "done"));
        assert_false(log_has_step(&t, "file:/etc/haproxy/haproxy.cfg", "done"));
        _cleanup_free_ char *still = in_root(&t, "/var/lib/node-agent/success");
        assert_null(strstr(still, "instance=lb-second"));
        /* the explicit local command lets it through, once */
        assert_int_equal(seedtrust_allow_reprovision(t.root), 0);
        assert_int_equal(run(&t, seed), 0);
        assert_null(in_root(&t, "/var/lib/node-agent/allow-reprovision"));
        assert_true(log_has_step(&t, "hostname", "done"));
        assert_true(log_has_step(&t, "file:/etc/haproxy/haproxy.cfg", "done"));
        assert_int_equal(log_count(&t, "status=unchanged"), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-second role=lb"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success");
        assert_non_null(strstr(ok, "instance=lb-second"));
        cJSON *j = state_json(&t);
        assert_string_equal(json_str(j, "instance_id"), "lb-second");
        cJSON_Delete(j);
        tree_free(&t);
}

/* A completed instance reruns only its every-boot steps (images: the
 * kubelet's garbage collector may have deleted preloaded images); the
 * master's run is offline under --root: kubeadm and the manifests render
 * and say what they would do, nothing is started or applied. */
static void a_configured_master_reruns_only_its_every_boot_step(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_strv_free_ char **steps = plan_of("cloud-init/examples/master");
        assert_true(strv_contains(steps, "images"));
        assert_int_equal(run(&t, "cloud-init/examples/master"), 0);
        assert_true(log_has_step(&t, "kubeadm", "skipped"));
        assert_true(log_has_step(&t, "manifests", "skipped"));
        assert_true(log_has(&t, "not starting docker.service: offline root"));
        _cleanup_free_ char *init = in_root(&t, "/etc/kubernetes/nodeos/kubeadm-init.yaml");
        assert_non_null(init);
        assert_null(in_root(&t, "/etc/kubernetes/pki/ca.key"));       /* kubeadm's, not written offline */
        assert_int_equal(run(&t, "cloud-init/examples/master"), 0);
        STRV_FOREACH(s, steps)
                assert_true(log_has_step(&t, *s, STREQ(*s, "images") ? "skipped" : "unchanged"));
        assert_int_equal(log_count(&t, "status=unchanged "), strv_length(steps) - 1);
        tree_free(&t);
}

/* --- what a refused seed leaves in the root --------------------------------------- */

static char **tree_entries;
static size_t tree_prefix;

static int collect_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
        (void) st;
        (void) flag;
        if (f->level > 0)
                assert_int_equal(strv_extend(&tree_entries, path + tree_prefix), 0);
        return 0;
}

/* Every path under root, relative ("/etc", "/etc/hostname", ...), joined by spaces in walk order. */
static char *tree_listing(const char *root) {
        tree_entries = NULL;
        tree_prefix = strlen(root);
        assert_int_equal(nftw(root, collect_entry, 16, FTW_PHYS), 0);
        char *all = strv_join(tree_entries ? tree_entries : (char *[]) { NULL }, " ");
        strv_free(tree_entries);
        tree_entries = NULL;
        return all;
}

static bool listing_is(const char *listing, const char * const *want, size_t n) {
        _cleanup_free_ char *copy = strdup(listing);
        size_t got = 0;
        for (char *save = NULL, *p = strtok_r(copy, " ", &save); p; p = strtok_r(NULL, " ", &save), got++) {
                bool found = false;
                for (size_t i = 0; i < n; i++)
                        found |= STREQ(p, want[i]);
                if (!found) {
                        print_message("# unexpected in the root: %s\n", p);
                        return false;
                }
        }
        return got == n;
}

static void a_refused_seed_leaves_only_the_agents_record(void **state) {
        (void) state;
        static const char * const record[] = {
                "/var", "/var/lib", "/var/lib/node-agent", "/var/lib/node-agent/failed", "/var/lib/node-agent/state.json",
        };
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "tests/data/bad-seeds/bad-lb-mode"), 1);
        _cleanup_free_ char *listing = tree_listing(t.root);
        assert_true(listing_is(listing, record, ELEMENTSOF(record)));
        _cleanup_free_ char *failed = in_root(&t, "/var/lib/node-agent/failed");
        assert_string_equal(failed, "tests/data/bad-seeds/bad-lb-mode/user-data:9:9: lb.mode: expected haproxy or nginx, got 'envoy'\n");
        cJSON *j = state_json(&t);
        assert_string_equal(json_str(j, "result"), "failed");
        assert_null(cJSON_GetObjectItemCaseSensitive(j, "steps"));
        cJSON_Delete(j);
        assert_false(log_has(&t, "stage=apply"));
        tree_free(&t);

        /* refused for the image's role: the same, and its role file */
        tree_make(&t);
        assert_int_equal(write_file_atomic(t.root, "/usr/share/nodeos/role", "verne\n", 6, 0644, -1, -1, NULL), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 1);
        static const char * const with_role[] = {
                "/var", "/var/lib", "/var/lib/node-agent", "/var/lib/node-agent/failed", "/var/lib/node-agent/state.json",
                "/usr", "/usr/share", "/usr/share/nodeos", "/usr/share/nodeos/role",
        };
        _cleanup_free_ char *listing2 = tree_listing(t.root);
        assert_true(listing_is(listing2, with_role, ELEMENTSOF(with_role)));
        assert_false(log_has(&t, "stage=apply"));
        tree_free(&t);
}

static void a_seed_for_the_images_role_is_applied(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        /* the image's role file as the image build writes it: a name and a newline */
        assert_int_equal(write_file_atomic(t.root, "/usr/share/nodeos/role", "lb\n", 3, 0644, -1, -1, NULL), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(log_has(&t, "stage=validate step=seed status=done"));
        tree_free(&t);

        /* engine_options.image_role_file names another file in the root */
        tree_make(&t);
        assert_int_equal(write_file_atomic(t.root, "/usr/share/nodeos/role", "lb\n", 3, 0644, -1, -1, NULL), 0);
        assert_int_equal(write_file_atomic(t.root, "/etc/nodeos-role", "master\n", 7, 0644, -1, -1, NULL), 0);
        struct saved_output saved = output_to(t.log);
        struct engine_options o = { .root = t.root, .seed_dir = "cloud-init/examples/lb", .roles_dir = "roles",
                                    .image_role_file = "/etc/nodeos-role" };
        int status = engine_run(&o);
        output_restore(saved);
        assert_int_equal(status, 1);
        assert_true(log_has(&t, "seed role 'lb' does not match this image, which is built for role 'master'"));
        tree_free(&t);
}

/* A root that delivers its seed the way a node's cidata-less boot does:
 * the seed directory inside the root, no cidata label, an empty command
 * line. */
static int run_from_datasources(const struct tree *t, const char *cmdline, const char *labels) {
        struct saved_output saved = output_to(t->log);
        struct engine_options o = { .root = t->root, .roles_dir = "roles", .cmdline_path = cmdline, .by_label_dir = labels };
        int status = engine_run(&o);
        output_restore(saved);
        return status;
}

static void copy_seed_into(const struct tree *t, const char *example) {
        static const char * const files[] = { "meta-data", "user-data" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *from = NULL, *to = NULL, *text = NULL;
                size_t len = 0;
                assert_true(asprintf(&from, "%s/%s", example, files[i]) > 0);
                assert_true(asprintf(&to, "/var/lib/cloud/seed/nocloud/%s", files[i]) > 0);
                assert_int_equal(read_full_file(from, &text, &len), 0);
                assert_int_equal(write_file_atomic(t->root, to, text, len, 0600, -1, -1, NULL), 0);
        }
}

static void a_configured_node_without_its_seed_stays_configured(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_free_ char *cmdline = NULL, *labels = NULL, *seed_dir = NULL;
        assert_true(asprintf(&cmdline, "%s/cmdline", t.dir) > 0 && asprintf(&labels, "%s/by-label", t.dir) > 0 &&
                    asprintf(&seed_dir, "%s/var/lib/cloud/seed/nocloud", t.root) > 0);
        assert_int_equal(write_file_atomic("/", cmdline, "quiet\n", 6, 0644, -1, -1, NULL), 0);
        assert_int_equal(mkdir(labels, 0755), 0);
        /* never provisioned, no seed: failed, as before */
        assert_int_equal(run_from_datasources(&t, cmdline, labels), 1);
        assert_true(log_has(&t, "NODEOS-AGENT: FAILED"));
        /* provisioned from its seed directory, which keeps a 0600 copy */
        copy_seed_into(&t, "cloud-init/examples/lb");
        assert_int_equal(run_from_datasources(&t, cmdline, labels), 0);
        _cleanup_free_ char *kept = in_root(&t, "/var/lib/node-agent/seed/user-data");
        assert_non_null(kept);
        struct stat st;
        _cleanup_free_ char *kept_path = NULL;
        assert_true(asprintf(&kept_path, "%s/var/lib/node-agent/seed/user-data", t.root) > 0);
        assert_int_equal(stat(kept_path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        /* the medium is gone: success, from the copy, said once */
        rm_rf(seed_dir);
        assert_int_equal(run_from_datasources(&t, cmdline, labels), 0);
        assert_true(log_has(&t, "stage=fetch step=seed status=cached"));
        assert_true(log_has(&t, "no seed delivered this boot; the node stays configured as instance lb-"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success");
        assert_non_null(ok);
        assert_null(in_root(&t, "/var/lib/node-agent/failed"));
        tree_free(&t);
}

/* A copy of an example seed with one line replaced (NULL: unchanged). */
static char *seed_variant(const struct tree *t, const char *example, const char *name, const char *from, const char *to) {
        char *dir = NULL;
        assert_true(asprintf(&dir, "%s/%s", t->dir, name) > 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        static const char * const files[] = { "meta-data", "user-data" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *src = NULL, *dst = NULL, *text = NULL, *out = NULL;
                assert_true(asprintf(&src, "%s/%s", example, files[i]) > 0 && asprintf(&dst, "%s/%s", dir, files[i]) > 0);
                assert_int_equal(read_full_file(src, &text, NULL), 0);
                char *at = from ? strstr(text, from) : NULL;
                if (at) {
                        *at = 0;
                        assert_true(asprintf(&out, "%s%s%s", text, to, at + strlen(from)) > 0);
                }
                const char *w = out ? out : text;
                assert_int_equal(write_file_atomic("/", dst, w, strlen(w), 0600, -1, -1, NULL), 0);
        }
        return dir;
}

static void a_changed_seed_value_updates_only_what_depends_on_it(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        _cleanup_free_ char *sysctl_before = in_root(&t, "/etc/sysctl.d/90-nodeos-lb.conf");
        _cleanup_free_ char *grown = seed_variant(&t, "cloud-init/examples/lb", "grown", "    - {name: verne-3, address: 192.168.0.16, role: verne}\n",
                                                   "    - {name: verne-3, address: 192.168.0.16, role: verne}\n"
                                                   "    - {name: verne-4, address: 192.168.0.17, role: verne}\n");
        /* a broker for the new backend too (validate refuses fewer) */
        _cleanup_free_ char *user_path = NULL, *user = NULL;
        assert_true(asprintf(&user_path, "%s/user-data", grown) > 0);
        assert_int_equal(read_full_file(user_path, &user, NULL), 0);
        char *at = strstr(user, "dojot_vernemq_replicas: 3");
        assert_non_null(at);
        at[strlen("dojot_vernemq_replicas: ")] = '4';
        assert_int_equal(write_file_atomic("/", user_path, user, strlen(user), 0600, -1, -1, NULL), 0);
        assert_int_equal(run(&t, grown), 0);
        _cleanup_free_ char *cfg = in_root(&t, "/etc/haproxy/haproxy.cfg");
        assert_non_null(strstr(cfg, "192.168.0.17"));
        assert_true(log_has(&t, "step=file:/etc/haproxy/haproxy.cfg status=changed"));
        assert_true(log_has(&t, "step=file:/etc/haproxy/haproxy.cfg status=done"));
        /* nothing else depends on the backends */
        assert_true(log_has(&t, "step=hostname status=unchanged"));
        assert_true(log_has(&t, "step=sysctl status=unchanged"));
        assert_false(log_has(&t, "step=sysctl status=changed"));
        assert_false(log_has(&t, "step=hostname status=changed"));
        _cleanup_free_ char *sysctl_after = in_root(&t, "/etc/sysctl.d/90-nodeos-lb.conf");
        assert_string_equal(sysctl_before ? sysctl_before : "", sysctl_after ? sysctl_after : "");
        /* and the same seed again changes nothing */
        assert_int_equal(run(&t, grown), 0);
        assert_false(log_has(&t, "status=changed"));
        tree_free(&t);
}

/* The network step converges to no network too: a seed that drops its
 * section takes the node back to the image's DHCP, and the unit the earlier
 * seed had written is gone (left, it would keep the old static address). */
static void a_seed_that_drops_its_network_removes_the_unit(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        _cleanup_free_ char *unit = in_root(&t, "/etc/systemd/network/10-nodeos.network");
        assert_non_null(unit);
        assert_non_null(strstr(unit, "Address=192.168.0.20/24"));
        _cleanup_free_ char *dhcp = seed_variant(&t, "cloud-init/examples/lb", "dhcp", "network:\n  address: 192.168.0.20/24\n", "");
        assert_int_equal(run(&t, dhcp), 0);
        assert_true(log_has(&t, "step=network status=changed"));
        assert_true(log_has(&t, "no network in the seed: the image's DHCP (the seed's earlier network files removed)"));
        _cleanup_free_ char *gone = in_root(&t, "/etc/systemd/network/10-nodeos.network");
        assert_null(gone);
        /* and again: nothing to do */
        assert_int_equal(run(&t, dhcp), 0);
        assert_true(log_has(&t, "step=network status=unchanged"));
        tree_free(&t);
}

static void changed_role_data_reruns_its_step(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        _cleanup_free_ char *roles = NULL, *role_yaml = NULL, *text = NULL, *edited = NULL;
        assert_true(asprintf(&roles, "%s/roles", t.dir) > 0 && asprintf(&role_yaml, "%s/lb/role.yaml", roles) > 0);
        struct exec_result er;
        assert_int_equal(exec_run((char *[]) { "cp", "-r", "roles", roles, NULL }, 10000, &er), 0);
        assert_int_equal(er.status, 0);
        exec_result_done(&er);
        /* a new image whose lb role keeps more connections in its backlog */
        assert_int_equal(read_full_file(role_yaml, &text, NULL), 0);
        char *at = strstr(text, "net.core.somaxconn");
        assert_non_null(at);
        char *v = strstr(at, "value: ");
        assert_non_null(v);
        v += strlen("value: ");
        size_t vl = strcspn(v, ",}");
        *v = 0;
        assert_true(asprintf(&edited, "%s\"12345\"%s", text, v + vl) > 0);
        assert_int_equal(write_file_atomic("/", role_yaml, edited, strlen(edited), 0644, -1, -1, NULL), 0);
        struct saved_output saved = output_to(t.log);
        struct engine_options o = { .root = t.root, .seed_dir = "cloud-init/examples/lb", .roles_dir = roles };
        int status = engine_run(&o);
        output_restore(saved);
        assert_int_equal(status, 0);
        assert_true(log_has(&t, "step=sysctl status=changed"));
        assert_true(log_has(&t, "step=file:/etc/haproxy/haproxy.cfg status=unchanged"));
        _cleanup_free_ char *conf = in_root(&t, "/etc/sysctl.d/90-nodeos-lb.conf");
        assert_non_null(strstr(conf, "net.core.somaxconn = 12345"));
        tree_free(&t);
}

static void a_joined_nodes_new_name_is_refused_and_nothing_changes(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        assert_int_equal(run(&t, "cloud-init/examples/verne"), 0);
        _cleanup_free_ char *hostname = in_root(&t, "/etc/hostname"), *daemon = in_root(&t, "/etc/docker/daemon.json");
        _cleanup_free_ char *renamed = seed_variant(&t, "cloud-init/examples/verne", "renamed", "\nhostname: verne-1\n",
                                                     "\nhostname: verne-9\n");
        _cleanup_free_ char *text = NULL;
        assert_int_equal(read_full_file(t.log, &text, NULL), 0);
        assert_int_equal(run(&t, renamed), 1);
        assert_true(log_has(&t, "step=hostname status=refused"));
        assert_true(log_has(&t, "cannot change in place on a configured node; nothing was changed"));
        _cleanup_free_ char *hostname_after = in_root(&t, "/etc/hostname"), *daemon_after = in_root(&t, "/etc/docker/daemon.json");
        assert_string_equal(hostname, hostname_after);
        assert_string_equal(daemon, daemon_after);
        assert_false(log_has(&t, "status=changed"));
        /* its own seed again: configured */
        assert_int_equal(run(&t, "cloud-init/examples/verne"), 0);
        tree_free(&t);
}

/* A seed dir: the example's user-data with HOSTNAME_LINE swapped in (or
 * not), meta-data for INSTANCE, signed with KEY when it is set. */
static char *signed_seed(const struct tree *t, const char *name, const char *instance, const secret *key, const char *pub,
                         const char *extra_user) {
        char *dir = NULL;
        _cleanup_free_ char *user = NULL, *meta = NULL, *full_user = NULL, *msg = NULL, *sig = NULL, *signed_meta = NULL;
        size_t len = 0;
        assert_true(asprintf(&dir, "%s/%s", t->dir, name) > 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(read_full_file("cloud-init/examples/lb/user-data", &user, NULL), 0);
        assert_true(asprintf(&full_user, "%s%s", user, extra_user ? extra_user : "") > 0);
        assert_true(asprintf(&meta, "instance-id: %s\nlocal-hostname: lb\n%s%s%s", instance, pub ? "nodeos-seed-key: " : "",
                             pub ? pub : "", pub ? "\n" : "") > 0);
        if (key) {
                assert_int_equal(seed_signed_message(meta, strlen(meta), full_user, strlen(full_user), &msg, &len), 0);
                assert_int_equal(pki_sign(key, msg, len, &sig), 0);
                assert_true(asprintf(&signed_meta, "%snodeos-seed-signature: %s\n", meta, sig) > 0);
        }
        write_text(dir, "meta-data", signed_meta ? signed_meta : meta);
        write_text(dir, "user-data", full_user);
        return dir;
}

static void a_node_pins_its_rollout_key_and_takes_only_seeds_it_signed(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        secret key = {}, other = {};
        _cleanup_free_ char *pub = NULL, *other_pub = NULL;
        assert_int_equal(pki_make_signing_key(&key, &pub), 0);
        assert_int_equal(pki_make_signing_key(&other, &other_pub), 0);
        /* provisioned from a signed seed: the key is pinned */
        _cleanup_free_ char *first = signed_seed(&t, "first", "lb-1", &key, pub, NULL);
        assert_int_equal(run(&t, first), 0);
        _cleanup_free_ char *pinned = in_root(&t, "/var/lib/node-agent/seed-key.pub");
        assert_non_null(pinned);
        assert_int_equal(strncmp(pinned, pub, strlen(pub)), 0);
        /* a stranger's seed (another key, or none) with a new instance: refused, nothing changes */
        _cleanup_free_ char *foreign = signed_seed(&t, "foreign", "lb-evil", &other, other_pub,
                                                   "ssh_authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA evil\"]\n");
        assert_int_equal(run(&t, foreign), 0);
        assert_true(log_has(&t, "a seed signed by another key than the one this node pinned (instance lb-evil) refused"));
        assert_true(log_has(&t, "step=seed status=cached"));
        assert_null(in_root(&t, "/root/.ssh/authorized_keys"));
        _cleanup_free_ char *unsigned_dir = signed_seed(&t, "unsigned", "lb-evil2", NULL, NULL, NULL);
        assert_int_equal(run(&t, unsigned_dir), 0);
        assert_true(log_has(&t, "an unsigned seed (instance lb-evil2) refused"));
        /* the same instance, changed but unsigned: refused too */
        _cleanup_free_ char *tampered = signed_seed(&t, "tampered", "lb-1", NULL, NULL, "ssh_authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA evil\"]\n");
        assert_int_equal(run(&t, tampered), 0);
        assert_true(log_has(&t, "status=refused"));
        assert_null(in_root(&t, "/root/.ssh/authorized_keys"));
        _cleanup_free_ char *ok = in_root(&t, "/var/lib/node-agent/success");
        assert_non_null(strstr(ok, "instance=lb-1"));
        /* the rollout's next seed for it: re-provisions */
        _cleanup_free_ char *next = signed_seed(&t, "next", "lb-2", &key, pub, NULL);
        assert_int_equal(run(&t, next), 0);
        assert_true(log_has(&t, "NODEOS-AGENT: SUCCESS instance=lb-2"));
        assert_false(log_has(&t, "status=refused"));
        secret_clear(&key);
        secret_clear(&other);
        tree_free(&t);
}

/* The seed's signature covers meta-data and user-data only: a
 * network-config beside a signed seed could move a trusted node, so the
 * seed is refused and no network file is written. */
static void a_signed_seed_with_a_network_config_is_refused(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        secret key = {};
        _cleanup_free_ char *pub = NULL;
        assert_int_equal(pki_make_signing_key(&key, &pub), 0);
        _cleanup_free_ char *dir = signed_seed(&t, "signed-net", "lb-1", &key, pub, NULL);
        write_text(dir, "network-config", "version: 2\nethernets:\n  eth0:\n    addresses: [10.0.0.9/24]\n");
        assert_int_equal(run(&t, dir), 1);
        assert_true(log_has(&t, "network-config:1:1: network-config is not covered by nodeos-seed-signature"));
        assert_null(in_root(&t, "/etc/systemd/network/10-nodeos-eth0.network"));
        assert_null(in_root(&t, "/etc/systemd/network/10-nodeos.network"));
        secret_clear(&key);
        tree_free(&t);
}

/* A datagram socket standing in for the service manager's notify socket. */
static int notify_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void a_run_under_a_root_does_not_notify_the_service_manager(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_free_ char *path = NULL;
        assert_true(asprintf(&path, "%s/notify", t.dir) > 0);
        int fd = notify_socket(path);
        char buf[512];
        assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
        assert_int_equal(run(&t, "cloud-init/examples/lb"), 0);
        assert_true(recv(fd, buf, sizeof(buf), 0) < 0);
        /* the socket works: a live run's status would have arrived */
        report_set_notify(true);
        report_status("probe");
        report_set_notify(false);
        unsetenv("NOTIFY_SOCKET");
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        assert_true(n > 0);
        buf[n] = 0;
        assert_string_equal(buf, "STATUS=probe");
        close(fd);
        tree_free(&t);
}

int main(void) {
        log_set_max_level(LOG_LEVEL_ERR);
        unsetenv("NOTIFY_SOCKET");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(a_run_configures_and_a_rerun_only_skips),
                cmocka_unit_test(a_seed_that_fails_validation_applies_nothing),
                cmocka_unit_test(a_seed_for_another_role_than_the_image_is_refused),
                cmocka_unit_test(a_missing_seed_directory_fails_naming_it),
                cmocka_unit_test(every_step_is_recorded_and_a_rerun_reports_each_unchanged),
                cmocka_unit_test(a_failed_step_stops_the_run_and_the_rerun_resumes_there),
                cmocka_unit_test(a_completed_instance_stays_done_without_its_state_file),
                cmocka_unit_test(a_new_instance_id_starts_over),
                cmocka_unit_test(a_configured_master_reruns_only_its_every_boot_step),
                cmocka_unit_test(a_refused_seed_leaves_only_the_agents_record),
                cmocka_unit_test(a_seed_for_the_images_role_is_applied),
                cmocka_unit_test(a_run_under_a_root_does_not_notify_the_service_manager),
                cmocka_unit_test(a_configured_node_without_its_seed_stays_configured),
                cmocka_unit_test(a_changed_seed_value_updates_only_what_depends_on_it),
                cmocka_unit_test(a_seed_that_drops_its_network_removes_the_unit),
                cmocka_unit_test(changed_role_data_reruns_its_step),
                cmocka_unit_test(a_joined_nodes_new_name_is_refused_and_nothing_changes),
                cmocka_unit_test(a_node_pins_its_rollout_key_and_takes_only_seeds_it_signed),
                cmocka_unit_test(a_signed_seed_with_a_network_config_is_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
