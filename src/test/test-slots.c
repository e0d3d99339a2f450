/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of slots.c: the disk layout read strictly with file:line
 * errors, partition specs resolved as udev links them, boot entry names as
 * systemd-boot counts them, the running slot from the command line, and
 * what an ESP says of each slot. */
#include <errno.h>
#include <sys/stat.h>
#include "agent/slots.h"
#include "basic/fileio.h"
#include "test-util.h"

#define LAYOUT "# dojot-nodeos disk layout\n" \
               "esp=PARTUUID=6e6f6465-01\n" \
               "data=PARTUUID=6e6f6465-07\n" \
               "\n" \
               "a.base=PARTUUID=6e6f6465-02\n" \
               "a.layer=PARTUUID=6e6f6465-03\n" \
               "  b.base=LABEL=slot b base  \n" \
               "b.layer=/dev/vda6\n"

static void the_image_layout_parses(void **state) {
        (void) state;
        struct disk_layout l;
        char *error = NULL;
        /* blanks inside a value are not allowed: the LABEL line is fixed first */
        const char *text = "# dojot-nodeos disk layout\nesp=PARTUUID=6e6f6465-01\ndata=PARTUUID=6e6f6465-07\n\n"
                           "a.base=PARTUUID=6e6f6465-02\na.layer=PARTUUID=6e6f6465-03\n  b.base=LABEL=slot_b  \nb.layer=/dev/vda6";
        assert_int_equal(disk_layout_parse(text, "disk-layout", &l, &error), 0);
        assert_null(error);
        assert_string_equal(l.esp, "PARTUUID=6e6f6465-01");
        assert_string_equal(l.data, "PARTUUID=6e6f6465-07");
        assert_string_equal(l.base[0], "PARTUUID=6e6f6465-02");
        assert_string_equal(l.layer[0], "PARTUUID=6e6f6465-03");
        assert_string_equal(l.base[1], "LABEL=slot_b");
        assert_string_equal(l.layer[1], "/dev/vda6");
        disk_layout_done(&l);
}

/* TEXT must fail with exactly WANT */
static void layout_refused(const char *text, const char *want) {
        struct disk_layout l = {};
        char *error = NULL;
        int r = disk_layout_parse(text, "disk-layout", &l, &error);
        if (r != -EINVAL || !error || !STREQ(error, want))
                fail_msg("r=%d error='%s', want '%s'", r, strempty(error), want);
        free(error);
}

static void layout_errors_name_the_line(void **state) {
        (void) state;
        layout_refused(LAYOUT, "disk-layout:7: 'b.base=LABEL=slot b base': want KEY=SPEC (no blanks)");
        layout_refused("esp=PARTUUID=1\nesp=PARTUUID=2\n", "disk-layout:2: esp given twice (first on line 1)");
        layout_refused("# c\nesp=PARTUUID=1\nc.base=/dev/x\n", "disk-layout:3: unknown key 'c.base' (want esp, data, a.base, a.layer, b.base, b.layer)");
        layout_refused("esp=UUID=1234\n", "disk-layout:1: esp=UUID=1234: want PARTUUID=..., LABEL=... or /dev/...");
        layout_refused("esp\n", "disk-layout:1: 'esp': want KEY=SPEC (no blanks)");
        layout_refused("=PARTUUID=1\n", "disk-layout:1: '=PARTUUID=1': want KEY=SPEC (no blanks)");
        layout_refused("esp=PARTUUID=01\ndata=PARTUUID=07\na.base=PARTUUID=02\na.layer=PARTUUID=03\nb.base=PARTUUID=05\n",
                       "disk-layout: b.layer is missing");
        layout_refused("", "disk-layout: esp is missing");
        /* b's base on a's: an update would overwrite the running slot */
        layout_refused("esp=PARTUUID=01\ndata=PARTUUID=07\na.base=PARTUUID=aa-02\na.layer=PARTUUID=03\nb.base=PARTUUID=AA-02\n"
                       "b.layer=PARTUUID=06\n",
                       "disk-layout:5: b.base is PARTUUID=AA-02, the same as a.base (line 3)");
}

static void specs_resolve_as_udev_links_them(void **state) {
        (void) state;
        char *p = NULL;
        assert_int_equal(device_spec_path("PARTUUID=6E6F6465-05", &p), 0);
        assert_string_equal(p, "/dev/disk/by-partuuid/6e6f6465-05");
        free(p);
        assert_int_equal(device_spec_path("LABEL=slot b/1", &p), 0);
        assert_string_equal(p, "/dev/disk/by-label/slot\\x20b\\x2f1");
        free(p);
        assert_int_equal(device_spec_path("LABEL=NODEOS_DATA", &p), 0);
        assert_string_equal(p, "/dev/disk/by-label/NODEOS_DATA");
        free(p);
        assert_int_equal(device_spec_path("/dev/vda5", &p), 0);
        assert_string_equal(p, "/dev/vda5");
        free(p);
        assert_int_equal(device_spec_path("PARTUUID=../../sda", &p), -EINVAL);
        assert_int_equal(device_spec_path("PARTUUID=", &p), -EINVAL);
        assert_int_equal(device_spec_path("LABEL=", &p), -EINVAL);
        assert_int_equal(device_spec_path("UUID=1234", &p), -EINVAL);
        assert_int_equal(device_spec_path("/dev/", &p), -EINVAL);
        assert_int_equal(device_spec_path("vda5", &p), -EINVAL);
}

/* NAME parses to slot/counted/left/done and formats back to itself */
static void entry_round_trip(const char *name, char slot, bool counted, unsigned left, unsigned done) {
        struct entry_name e;
        assert_int_equal(entry_name_parse(name, &e), 0);
        assert_int_equal(e.slot, slot);
        assert_int_equal(e.counted, counted);
        assert_int_equal(e.left, left);
        assert_int_equal(e.done, done);
        _cleanup_free_ char *back = entry_name_format(&e);
        assert_string_equal(back, name);
}

static void entry_names_are_boot_counting_names(void **state) {
        (void) state;
        entry_round_trip("nodeos-a.conf", 'a', false, 0, 0);
        entry_round_trip("nodeos-b+3.conf", 'b', true, 3, 0);
        entry_round_trip("nodeos-b+2-1.conf", 'b', true, 2, 1);
        entry_round_trip("nodeos-b+0-3.conf", 'b', true, 0, 3);
        struct entry_name e;
        static const char * const not_ours[] = {
                "nodeos-c.conf", "nodeos-b+.conf", "nodeos-b+3-.conf", "nodeos-b+3.conf.nodeos-tmp", "nodeos-boot.conf",
                "nodeos-b+1234.conf", "nodeos-b+-1.conf", "nodeos.conf", "other-b.conf", "nodeos-b+3+1.conf", "nodeos-b",
        };
        for (size_t i = 0; i < ELEMENTSOF(not_ours); i++)
                if (entry_name_parse(not_ours[i], &e) != -EINVAL)
                        fail_msg("%s parsed as a slot entry", not_ours[i]);
}

static void the_running_slot_is_nodeos_slot(void **state) {
        (void) state;
        char slot = '?';
        char *error = NULL;
        assert_int_equal(slot_from_cmdline("boot=nodeos nodeos.slot=a nodeos.base=PARTUUID=x ro\n", &slot, &error), 0);
        assert_int_equal(slot, 'a');
        assert_int_equal(slot_from_cmdline("nodeos.slot=a nodeos.slot=b", &slot, &error), 0);
        assert_int_equal(slot, 'b');
        assert_int_equal(slot_from_cmdline("boot=nodeos nodeos.slots=a ro", &slot, &error), 0);
        assert_int_equal(slot, 0);
        assert_int_equal(slot_from_cmdline("nodeos.slot=c", &slot, &error), -EINVAL);
        assert_string_equal(error, "nodeos.slot=c on the kernel command line: want a or b");
        free(error);
        error = NULL;
        assert_int_equal(slot_booted("/nonexistent/cmdline", &slot, &error), -ENOENT);
        assert_non_null(strstr(error, "cannot read the kernel command line /nonexistent/cmdline"));
        free(error);
}

#define ENTRY_A "title dojot-nodeos verne (0123456789abcdef) slot a\nsort-key nodeos\nversion 100\nlinux /a/vmlinuz\n" \
                "initrd /a/initrd.img\noptions boot=nodeos nodeos.slot=a ro\n"

/* A root with an ESP at efi/ holding nodeos-a.conf and BENTRY for b (NULL: none). */
static char *esp_tree(const char *bentry) {
        char *root = make_tmpdir("test-slots-");
        _cleanup_free_ char *entries = NULL;
        assert_true(asprintf(&entries, "%s/efi/loader/entries", root) > 0);
        assert_int_equal(mkdir_p(entries, 0755), 0);
        write_text(entries, "nodeos-a.conf", ENTRY_A);
        write_text(entries, "README", "not an entry\n");
        if (bentry)
                write_text(entries, bentry, "title dojot-nodeos verne (fedcba9876543210) slot b\nversion 200\n");
        return root;
}

static void the_esp_says_what_each_slot_is(void **state) {
        (void) state;
        _cleanup_free_ char *root = esp_tree("nodeos-b+2-1.conf");
        struct esp esp;
        struct esp_state s;
        char *error = NULL;
        assert_int_equal(esp_open(root, &esp, &error), 0);
        assert_int_equal(esp_state_load(&esp, &s, &error), 0);
        assert_int_equal(s.slots[0].state, ENTRY_GOOD);
        assert_string_equal(s.slots[0].entry, "nodeos-a.conf");
        assert_string_equal(s.slots[0].image_id, "0123456789abcdef");
        assert_string_equal(s.slots[0].version, "100");
        assert_int_equal(s.slots[1].state, ENTRY_TRYING);
        assert_int_equal(s.slots[1].name.left, 2);
        assert_string_equal(s.slots[1].image_id, "fedcba9876543210");
        /* no grubenv: no GRUB state */
        assert_int_equal(s.good, 0);
        assert_int_equal(s.try_slot, 0);
        assert_int_equal(s.try_left, -1);
        unsigned left = 0;
        assert_int_equal(slot_state(&s, 'a', 'a', NULL), SLOT_GOOD);
        assert_int_equal(slot_state(&s, 'b', 'a', &left), SLOT_TRYING);
        assert_int_equal(left, 2);
        assert_false(slot_on_trial(&s, 'a'));
        assert_true(slot_on_trial(&s, 'b'));
        esp_state_done(&s);

        /* out of tries: bad, unless it runs (its last try) */
        assert_int_equal(slot_entry_rename(&esp, "nodeos-b+2-1.conf", "nodeos-b+0-3.conf"), 0);
        assert_int_equal(esp_state_load(&esp, &s, &error), 0);
        assert_int_equal(s.slots[1].state, ENTRY_BAD);
        assert_int_equal(slot_state(&s, 'b', 'a', NULL), SLOT_BAD);
        assert_int_equal(slot_state(&s, 'b', 'b', &left), SLOT_TRYING);
        assert_int_equal(left, 0);
        esp_state_done(&s);

        /* GRUB's count is the lower one on a BIOS boot; nodeos_try_left=0 is out of tries */
        struct esp_state g = { .slots[1] = { .state = ENTRY_TRYING, .name = { 'b', true, 3, 0 } }, .good = 'a', .try_slot = 'b', .try_left = 1 };
        assert_int_equal(slot_state(&g, 'b', 'a', &left), SLOT_TRYING);
        assert_int_equal(left, 1);
        g.try_left = 0;
        assert_int_equal(slot_state(&g, 'b', 'a', NULL), SLOT_BAD);
        /* grubenv's trial alone makes a slot on trial */
        struct esp_state h = { .slots[1] = { .state = ENTRY_GOOD }, .try_slot = 'b', .try_left = 3 };
        assert_true(slot_on_trial(&h, 'b'));
        assert_int_equal(slot_state(&h, 'a', 'b', NULL), SLOT_EMPTY);

        /* removing b's entries (and what a power cut left of a write of
         * one) leaves a's and the rest */
        _cleanup_free_ char *dir = NULL, *btmp = NULL, *atmp = NULL;
        assert_true(asprintf(&dir, "%s/efi/loader/entries", root) > 0);
        write_text(dir, "nodeos-b+3.conf" WRITE_TMP_SUFFIX, "title cut\n");
        write_text(dir, "nodeos-a+3.conf" WRITE_TMP_SUFFIX, "title cut\n");
        assert_int_equal(slot_entries_remove(&esp, 'b'), 0);
        assert_true(asprintf(&btmp, "%s/nodeos-b+3.conf" WRITE_TMP_SUFFIX, dir) > 0);
        assert_true(asprintf(&atmp, "%s/nodeos-a+3.conf" WRITE_TMP_SUFFIX, dir) > 0);
        assert_int_equal(access(btmp, F_OK), -1);
        assert_int_equal(access(atmp, F_OK), 0);
        assert_int_equal(esp_state_load(&esp, &s, &error), 0);
        assert_int_equal(s.slots[1].state, ENTRY_NONE);
        assert_int_equal(s.slots[0].state, ENTRY_GOOD);
        assert_int_equal(slot_state(&s, 'b', 'a', NULL), SLOT_EMPTY);
        esp_state_done(&s);
        _cleanup_free_ char *readme = NULL;
        assert_true(asprintf(&readme, "%s/efi/loader/entries/README", root) > 0);
        assert_int_equal(access(readme, F_OK), 0);
        esp_close(&esp);
        rm_rf(root);
}

static void two_entries_of_a_slot_read_as_the_one_with_fewest_tries(void **state) {
        (void) state;
        _cleanup_free_ char *root = esp_tree("nodeos-b+3.conf"), *entries = NULL;
        assert_true(asprintf(&entries, "%s/efi/loader/entries", root) > 0);
        write_text(entries, "nodeos-b+1-2.conf", "title x\n");
        struct esp esp;
        struct esp_state s;
        assert_int_equal(esp_open(root, &esp, NULL), 0);
        assert_int_equal(esp_state_load(&esp, &s, NULL), 0);
        assert_string_equal(s.slots[1].entry, "nodeos-b+1-2.conf");
        esp_state_done(&s);
        esp_close(&esp);
        rm_rf(root);
}

static void esp_writes_replace_whole_files(void **state) {
        (void) state;
        _cleanup_free_ char *root = esp_tree(NULL), *path = NULL, *text = NULL, *dir = NULL;
        struct esp esp;
        char *error = NULL;
        assert_int_equal(esp_open(root, &esp, &error), 0);
        assert_int_equal(esp_write_file(&esp, "loader/entries/nodeos-b+3.conf", "one\n", 4), 0);
        assert_int_equal(esp_write_file(&esp, "loader/entries/nodeos-b+3.conf", "two\n", 4), 0);
        assert_int_equal(esp_write_file(&esp, "b/grub.cfg", "menuentry\n", 10), 0);
        assert_true(asprintf(&path, "%s/efi/loader/entries/nodeos-b+3.conf", root) > 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_string_equal(text, "two\n");
        /* no temporary file left beside it */
        assert_true(asprintf(&dir, "%s/efi/loader/entries", root) > 0);
        DIR *d = opendir(dir);
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                assert_null(strstr(de->d_name, "tmp"));
        closedir(d);
        /* the ESP is a boundary: a path leaving it is refused */
        assert_int_equal(esp_write_file(&esp, "../escape", "x", 1), -EXDEV);
        esp_close(&esp);
        rm_rf(root);
}

static void an_esp_without_entries_is_refused(void **state) {
        (void) state;
        _cleanup_free_ char *root = make_tmpdir("test-slots-");
        struct esp esp;
        char *error = NULL;
        assert_int_equal(esp_open(root, &esp, &error), -ENOENT);
        assert_non_null(strstr(error, "cannot open the ESP at /efi"));
        free(error);
        error = NULL;
        _cleanup_free_ char *efi = NULL;
        assert_true(asprintf(&efi, "%s/efi", root) > 0);
        assert_int_equal(mkdir(efi, 0755), 0);
        assert_int_equal(esp_open(root, &esp, &error), -ENOENT);
        assert_non_null(strstr(error, "/efi/loader/entries"));
        free(error);
        rm_rf(root);
}

static void a_slot_boots_with_its_partitions_and_hashes(void **state) {
        (void) state;
        struct disk_layout l;
        const char *text = "esp=PARTUUID=6e6f6465-01\ndata=PARTUUID=6e6f6465-07\na.base=PARTUUID=6e6f6465-02\n"
                           "a.layer=PARTUUID=6e6f6465-03\nb.base=PARTUUID=6e6f6465-05\nb.layer=PARTUUID=6e6f6465-06\n";
        assert_int_equal(disk_layout_parse(text, "x", &l, NULL), 0);
        _cleanup_free_ char *c1 = slot_cmdline(&l, 'b', "ab:4096", "cd:8192", "console=ttyS0 panic=10");
        assert_string_equal(c1, "boot=nodeos nodeos.slot=b nodeos.base=PARTUUID=6e6f6465-05 nodeos.layer=PARTUUID=6e6f6465-06 "
                                "nodeos.data=PARTUUID=6e6f6465-07 nodeos.base.verity=ab:4096 nodeos.layer.verity=cd:8192 ro "
                                "console=ttyS0 panic=10");
        _cleanup_free_ char *c2 = slot_cmdline(&l, 'a', NULL, NULL, "");
        assert_string_equal(c2, "boot=nodeos nodeos.slot=a nodeos.base=PARTUUID=6e6f6465-02 nodeos.layer=PARTUUID=6e6f6465-03 "
                                "nodeos.data=PARTUUID=6e6f6465-07 ro");
        _cleanup_free_ char *entry = slot_entry_text("verne", "0123456789abcdef", "200", 'b', c1);
        _cleanup_free_ char *want = NULL;
        assert_true(asprintf(&want, "title dojot-nodeos verne (0123456789abcdef) slot b\nsort-key nodeos\nversion 200\n"
                                    "linux /b/vmlinuz\ninitrd /b/initrd.img\noptions %s\n", c1) > 0);
        assert_string_equal(entry, want);
        disk_layout_done(&l);
}

static void grub_entries_quote_what_grub_would_read(void **state) {
        (void) state;
        _cleanup_free_ char *plain = slot_grub_text("verne", "0123456789abcdef", 'b', "ro console=ttyS0,115200n8 panic=10");
        assert_string_equal(plain, "menuentry \"dojot-nodeos verne (0123456789abcdef) slot b\" {\n"
                                   "  linux /b/vmlinuz ro console=ttyS0,115200n8 panic=10\n  initrd /b/initrd.img\n}\n");
        _cleanup_free_ char *odd = slot_grub_text("verne", "0123456789abcdef", 'a', "x=$y a;b it's q=\"a b\"");
        assert_string_equal(odd, "menuentry \"dojot-nodeos verne (0123456789abcdef) slot a\" {\n"
                                 "  linux /a/vmlinuz 'x=$y' 'a;b' 'it'\\''s' 'q=\"a' 'b\"'\n  initrd /a/initrd.img\n}\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_image_layout_parses),
                cmocka_unit_test(layout_errors_name_the_line),
                cmocka_unit_test(specs_resolve_as_udev_links_them),
                cmocka_unit_test(entry_names_are_boot_counting_names),
                cmocka_unit_test(the_running_slot_is_nodeos_slot),
                cmocka_unit_test(the_esp_says_what_each_slot_is),
                cmocka_unit_test(two_entries_of_a_slot_read_as_the_one_with_fewest_tries),
                cmocka_unit_test(esp_writes_replace_whole_files),
                cmocka_unit_test(an_esp_without_entries_is_refused),
                cmocka_unit_test(a_slot_boots_with_its_partitions_and_hashes),
                cmocka_unit_test(grub_entries_quote_what_grub_would_read),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
