/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The two slots of a node's disk (image/README.md, "SLOTS AND UPDATES"):
 * slot a and slot b, each a base and a layer partition, named by the
 * layer's DISK_LAYOUT_FILE; which one runs (nodeos.slot= on the kernel
 * command line); and what the boot loaders will do with each, which lives
 * on the ESP (mounted at ESP_DIR by an automount):
 *
 *   loader/entries/nodeos-S.conf       slot S is good (systemd-boot, UEFI)
 *   loader/entries/nodeos-S+L.conf     S on trial, L tries left; systemd-boot
 *   loader/entries/nodeos-S+L-D.conf   renames +L-D to +(L-1)-(D+1) when it
 *                                      boots it (Boot Loader Specification
 *                                      boot counting), and sorts +0 last
 *   grub/grubenv                       GRUB's (BIOS boots): nodeos_good, and
 *                                      for a slot on trial nodeos_try and
 *                                      nodeos_try_left, counted down by GRUB
 *   S/vmlinuz, S/initrd.img, S/grub.cfg  the slot's kernel set
 *
 * A slot's entry with no tries left is bad, except on the running slot:
 * both loaders count a try before the kernel starts, so the running slot's
 * last try reads +0 (GRUB: nodeos_try_left=0) until it is marked good or bad.
 *
 * Paths are resolved inside --root (chase.h): the partitions through
 * <root>/dev/disk/by-*, the ESP at <root>/efi. ESP files are written
 * atomically (a temporary file, fsync, rename, fsync of the directory): a
 * power cut leaves the old file or the new one. grubenv is changed only by
 * grub-editenv, so its format (one 1024-byte block GRUB rewrites in place)
 * stays GRUB's business. */

#include <stdbool.h>
#include <stddef.h>

#define DISK_LAYOUT_FILE "/usr/share/nodeos/disk-layout"
#define ESP_DIR "/efi"
/* Tries a new slot gets, in systemd-boot's entry name and in grubenv. */
#define SLOT_TRIES 3

/* Slots are 'a' and 'b'; index 0 and 1. */
static inline int slot_index(char slot) { return slot == 'b'; }
static inline char slot_other(char slot) { return slot == 'a' ? 'b' : 'a'; }

/* DISK_LAYOUT_FILE: KEY=SPEC lines, '#' comments, blank lines; the keys
 * esp, data, a.base, a.layer, b.base, b.layer, each exactly once; a SPEC is
 * PARTUUID=x, LABEL=x or /dev/... (the form nodeos.base= takes). */
struct disk_layout {
        char *esp, *data;
        char *base[2], *layer[2];       /* by slot_index() */
};

/* Parses TEXT (read from FILE, for messages): -EINVAL with "FILE:LINE: why"
 * in *error; -ENOMEM. */
int disk_layout_parse(const char *text, const char *file, struct disk_layout *ret, char **error);
/* DISK_LAYOUT_FILE under root. */
int disk_layout_load(const char *root, struct disk_layout *ret, char **error);
void disk_layout_done(struct disk_layout *l);

/* The device node a SPEC names, as udev links it: PARTUUID=X ->
 * /dev/disk/by-partuuid/x (lowercase), LABEL=X -> /dev/disk/by-label/X
 * (udev's escaping: \xNN for a byte outside [A-Za-z0-9#+-.:=@_]),
 * /dev/... as is. New string; -EINVAL for another form. */
int device_spec_path(const char *spec, char **ret);

/* The slot nodeos.slot= on a kernel command line names: 'a', 'b', or 0
 * when absent; -EINVAL (and *error) for another value. */
int slot_from_cmdline(const char *cmdline, char *ret, char **error);
/* The same from the file CMDLINE_PATH (NULL: /proc/cmdline). */
int slot_booted(const char *cmdline_path, char *ret, char **error);

/* A slot's entry file name: "nodeos-b.conf" (counted false), "nodeos-b+3.conf",
 * "nodeos-b+2-1.conf". */
struct entry_name {
        char slot;
        bool counted;
        unsigned left, done;
};
/* -EINVAL when NAME is not a slot entry's (another entry, a temporary file). */
int entry_name_parse(const char *name, struct entry_name *ret);
/* New string or NULL. */
char *entry_name_format(const struct entry_name *e);

/* What the ESP says of one slot. */
enum entry_state {
        ENTRY_NONE,     /* no entry */
        ENTRY_GOOD,     /* uncounted */
        ENTRY_TRYING,   /* counted, tries left */
        ENTRY_BAD,      /* counted, none left (the running slot: its last try) */
};

struct slot_boot {
        enum entry_state state;
        struct entry_name name;
        char *entry;            /* its file name in loader/entries, or NULL */
        char *image_id;         /* the 16 hex digits in its title's "(...)", or NULL */
        char *version;          /* its version line (the image's update counter), or NULL */
};

/* The ESP, opened once and held for a whole command: the automount stays
 * mounted while an fd is open in it, and every path is resolved inside it. */
struct esp {
        int fd;
        char root[32];          /* "/proc/self/fd/N": fd as a root for chase() */
        char *path;             /* where it is on this system, for programs and messages */
};

/* Opens ROOT/efi (triggering its automount on a node). -errno and *error. */
int esp_open(const char *root, struct esp *ret, char **error);
void esp_close(struct esp *e);

struct esp_state {
        struct slot_boot slots[2];      /* by slot_index() */
        bool grubenv;                   /* grub/grubenv exists */
        char good, try_slot;            /* nodeos_good, nodeos_try: 'a', 'b' or 0 */
        int try_left;                   /* nodeos_try_left, -1 when unset */
};

/* Reads every slot entry and grubenv. Two entries of one slot (only a crash
 * between systemd-boot's own renames could leave them) read as the one with
 * the fewest tries left. -errno and *error. */
int esp_state_load(const struct esp *e, struct esp_state *ret, char **error);
void esp_state_done(struct esp_state *s);

/* Whether SLOT (the running one) boots on trial: its entry is counted, or
 * grubenv tries it. */
bool slot_on_trial(const struct esp_state *s, char slot);

/* What a slot is, for status and the rollback check, given which one runs
 * (0: unknown): */
enum slot_state { SLOT_EMPTY, SLOT_GOOD, SLOT_TRYING, SLOT_BAD };
/* *left (may be NULL): tries left while SLOT_TRYING, the lower of the two
 * loaders' counts (each counts only the boots it makes). */
enum slot_state slot_state(const struct esp_state *s, char slot, char booted, unsigned *left);
const char *slot_state_to_string(enum slot_state st);

/* Writes CONTENT to PATH in the ESP (relative to it, "loader/entries/x.conf"),
 * with write_file_at() and FILE_MODE_NONE (FAT has no modes),
 * atomically. -errno. */
int esp_write_file(const struct esp *e, const char *path, const char *content, size_t len);
/* Removes every entry of SLOT. -errno. */
int slot_entries_remove(const struct esp *e, char slot);
/* Renames an entry in loader/entries (FROM, TO: file names). -errno. */
int slot_entry_rename(const struct esp *e, const char *from, const char *to);

/* grub-editenv ESP/grub/grubenv set K=V... / unset K...: -errno with its
 * message in *error. */
int grubenv_set(const struct esp *e, char * const *assignments, char **error);
int grubenv_unset(const struct esp *e, char * const *names, char **error);
/* grubenv's nodeos_good=SLOT, unless ES says it is so already. */
int grubenv_set_good(const struct esp *e, const struct esp_state *es, char slot, char **error);
/* Ends grubenv's trial of SLOT (nodeos_try, nodeos_try_left), if ES says
 * it has one. */
int grubenv_end_trial(const struct esp *e, const struct esp_state *es, char slot, char **error);
/* SLOT out of the boot: its entries removed, its GRUB trial ended. -errno
 * with one line in *error. */
int slot_disable(const struct esp *e, const struct esp_state *es, char slot, char **error);

/* A slot's kernel command line: boot=nodeos nodeos.slot=S nodeos.base=...
 * nodeos.layer=... nodeos.data=... [nodeos.base.verity=ROOT:OFF]
 * [nodeos.layer.verity=ROOT:OFF] ro [BOOT_OPTIONS]. A verity value is NULL
 * when the file has none. New string or NULL. */
char *slot_cmdline(const struct disk_layout *l, char slot, const char *base_verity, const char *layer_verity,
                   const char *boot_options);
/* The slot's systemd-boot entry and GRUB menu entry (image/lib.sh writes
 * slot a's the same way). New strings or NULL. */
char *slot_entry_text(const char *role, const char *image_id, const char *version, char slot, const char *options);
char *slot_grub_text(const char *role, const char *image_id, char slot, const char *options);
