/* SPDX-License-Identifier: Apache-2.0 */
/* Paths resolved inside a root (basic/chase.c) and the writes built on it
 * (fileio.c): hostile trees whose symlinks point out of the root. Each test
 * keeps a sentinel directory outside the root and checks it is untouched. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/chase.h"
#include "basic/fileio.h"
#include "basic/macro.h"
#include "test-util.h"

struct tree {
        char *top;              /* holds both */
        char *root;             /* top/root: the tree the agent writes */
        char *outside;          /* top/outside: must never change */
};

static void tree_make(struct tree *t) {
        t->top = make_tmpdir("nodeos-chase-");
        assert_true(asprintf(&t->root, "%s/root", t->top) > 0 && asprintf(&t->outside, "%s/outside", t->top) > 0);
        assert_int_equal(mkdir(t->root, 0755), 0);
        assert_int_equal(mkdir(t->outside, 0755), 0);
        write_text(t->outside, "keep", "sentinel\n");
}

static void tree_free(struct tree *t) {
        rm_rf(t->top);
        free(t->top);
        free(t->root);
        free(t->outside);
}

/* The outside directory holds exactly its one file, unchanged. */
static void assert_outside_untouched(const struct tree *t) {
        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "test \"$(find '%s' | sort | tr '\\n' ' ')\" = '%s %s/keep ' && test \"$(cat '%s/keep')\" = sentinel",
                             t->outside, t->outside, t->outside, t->outside) > 0);
        assert_int_equal(system(cmd), 0);
}

static void in_root(const struct tree *t, const char *rel, char **ret) {
        assert_true(asprintf(ret, "%s/%s", t->root, rel) > 0);
}

static void symlink_in_root(const struct tree *t, const char *target, const char *rel) {
        _cleanup_free_ char *p = NULL;
        in_root(t, rel, &p);
        assert_int_equal(symlink(target, p), 0);
}

static void mkdir_in(const struct tree *t, const char *rel) {
        _cleanup_free_ char *p = NULL;
        in_root(t, rel, &p);
        assert_int_equal(mkdir_p(p, 0755), 0);
}

static void assert_file_in_root(const struct tree *t, const char *rel, const char *content) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        in_root(t, rel, &p);
        assert_int_equal(read_full_file(p, &text, NULL), 0);
        assert_string_equal(text, content);
}

static void absolute_dir_link_resolves_inside_the_root(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        /* etc/systemd/network -> <outside>: joined as a string, the write
         * would land in the host's outside directory */
        mkdir_in(&t, "etc/systemd");
        symlink_in_root(&t, t.outside, "etc/systemd/network");
        assert_int_equal(write_file_atomic(t.root, "/etc/systemd/network/10-nodeos.network", "x\n", 2, 0644, -1, -1, NULL), 0);
        _cleanup_free_ char *where = NULL;
        assert_true(asprintf(&where, "%s/10-nodeos.network", t.outside + 1) > 0);
        assert_file_in_root(&t, where, "x\n");  /* where the boot would see it: <root><outside>/ */
        assert_outside_untouched(&t);
        tree_free(&t);
}

static void relative_dir_link_inside_the_root_is_followed(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        mkdir_in(&t, "etc/real-sysctl");
        symlink_in_root(&t, "real-sysctl", "etc/sysctl.d");
        assert_int_equal(write_file_atomic(t.root, "/etc/sysctl.d/90-nodeos.conf", "a=1\n", 4, 0644, -1, -1, NULL), 0);
        assert_file_in_root(&t, "etc/real-sysctl/90-nodeos.conf", "a=1\n");
        tree_free(&t);
}

static void link_that_climbs_out_is_an_error(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        mkdir_in(&t, "etc");
        symlink_in_root(&t, "../../outside", "etc/haproxy");
        int r = write_file_atomic(t.root, "/etc/haproxy/haproxy.cfg", "x\n", 2, 0644, -1, -1, NULL);
        assert_int_equal(r, -EXDEV);
        assert_string_equal(chase_strerror(r), "leads out of the root (a symlink or '..' on the way)");
        assert_int_equal(write_file_atomic(t.root, "/../outside/x", "x\n", 2, 0644, -1, -1, NULL), -EXDEV);
        assert_outside_untouched(&t);
        tree_free(&t);
}

static void link_loop_is_an_error(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        mkdir_in(&t, "etc");
        symlink_in_root(&t, "b", "etc/a");
        symlink_in_root(&t, "/etc/a", "etc/b");
        int r = write_file_atomic(t.root, "/etc/a/file", "x\n", 2, 0644, -1, -1, NULL);
        assert_int_equal(r, -ELOOP);
        assert_string_equal(chase_strerror(r), "a symlink loop on the way");
        tree_free(&t);
}

static void link_at_the_target_is_replaced_not_followed(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        mkdir_in(&t, "etc");
        _cleanup_free_ char *keep = NULL, *p = NULL;
        assert_true(asprintf(&keep, "%s/keep", t.outside) > 0);
        symlink_in_root(&t, keep, "etc/hostname");
        bool changed = false;
        assert_int_equal(write_file_atomic(t.root, "/etc/hostname", "node\n", 5, 0644, -1, -1, &changed), 0);
        assert_true(changed);
        in_root(&t, "etc/hostname", &p);
        struct stat st;
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_file_in_root(&t, "etc/hostname", "node\n");
        assert_outside_untouched(&t);
        tree_free(&t);
}

static void reads_follow_links_inside_the_root_only(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_free_ char *keep = NULL, *text = NULL;
        assert_true(asprintf(&keep, "%s/keep", t.outside) > 0);
        mkdir_in(&t, "etc");
        symlink_in_root(&t, keep, "etc/fstab");         /* absolute: <root><outside>/keep, absent */
        assert_int_equal(read_file_in_root(t.root, "/etc/fstab", &text, NULL), -ENOENT);
        write_text(t.root, "fstab.real", "UUID=1 / ext4 defaults 0 1\n");
        symlink_in_root(&t, "/fstab.real", "etc/fstab2");
        assert_int_equal(read_file_in_root(t.root, "/etc/fstab2", &text, NULL), 0);
        assert_string_equal(text, "UUID=1 / ext4 defaults 0 1\n");
        tree_free(&t);
}

static void mkdir_in_root_returns_the_directory_to_chown(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        mkdir_in(&t, "mnt");
        symlink_in_root(&t, t.outside, "mnt/data");
        _cleanup_close_ int fd = -EBADF;
        assert_int_equal(mkdir_in_root(t.root, "/mnt/data/zk", 0755, &fd), 0);
        assert_int_equal(fchmod(fd, 0700), 0);
        _cleanup_free_ char *rel = NULL, *p = NULL;
        assert_true(asprintf(&rel, "%s/zk", t.outside + 1) > 0);
        in_root(&t, rel, &p);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_outside_untouched(&t);
        tree_free(&t);
}

static void chase_parent_names_the_last_component(void **state) {
        (void) state;
        struct tree t = {};
        tree_make(&t);
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *name = NULL;
        assert_int_equal(chase(t.root, "/var/lib/node-agent//state.json", CHASE_PARENT | CHASE_MKDIR, 0755, &fd, &name), 0);
        assert_string_equal(name, "state.json");
        assert_int_equal(chase(t.root, "/", CHASE_PARENT, 0, &fd, &name), -EINVAL);
        assert_int_equal(chase(t.root, "/no/such/dir", 0, 0, &fd, NULL), -ENOENT);
        write_text(t.root, "file", "x");
        assert_int_equal(chase(t.root, "/file/below", CHASE_PARENT, 0, &fd, &name), -ENOTDIR);
        tree_free(&t);
}

static void the_host_root_is_known_by_identity_not_spelling(void **state) {
        (void) state;
        assert_true(root_is_host("/"));
        assert_true(root_is_host("//"));
        assert_true(root_is_host("/."));
        assert_true(root_is_host("/tmp/.."));
        assert_true(root_is_host(NULL));
        assert_false(root_is_host("/tmp"));
        assert_false(root_is_host("/nonexistent-nodeos-root"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(absolute_dir_link_resolves_inside_the_root),
                cmocka_unit_test(relative_dir_link_inside_the_root_is_followed),
                cmocka_unit_test(link_that_climbs_out_is_an_error),
                cmocka_unit_test(link_loop_is_an_error),
                cmocka_unit_test(link_at_the_target_is_replaced_not_followed),
                cmocka_unit_test(reads_follow_links_inside_the_root_only),
                cmocka_unit_test(mkdir_in_root_returns_the_directory_to_chown),
                cmocka_unit_test(chase_parent_names_the_last_component),
                cmocka_unit_test(the_host_root_is_known_by_identity_not_spelling),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
