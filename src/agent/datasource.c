/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#if NODEOS_SD_DEVICE
#include <systemd/sd-device.h>
#endif
#include "agent/datasource.h"
#include "basic/clock.h"
#include "basic/cmdline.h"
#include "basic/exec.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "basic/macro.h"
#include "shared/http.h"

#define SEED_DIR "/var/lib/cloud/seed/nocloud"
#define SMBIOS_SERIAL "/sys/class/dmi/id/product_serial"
#define SEED_PIN_PARAM "nodeos.seed_pin="

static int try_seed_dir(const struct datasource_options *o, struct seed *ret) {
        _cleanup_free_ char *dir = path_in_root(o->root, SEED_DIR), *src = NULL;
        if (!dir || asprintf(&src, "seed-dir:%s", SEED_DIR) < 0)
                return -ENOMEM;
        return seed_read_files(dir, src, SEED_DIR, ret);
}

/* The filesystem type udev's blkid found on dev, so that the mount does
 * not try the other type first: a failed try costs a module load and a
 * probe (0.2 s of the agent's first boot under TCG). NULL when udev does not
 * know, or on a libsystemd without sd-device. */
static char *udev_fs_type(const char *dev) {
#if NODEOS_SD_DEVICE
        _cleanup_(sd_device_unrefp) sd_device *d = NULL;
        struct stat st;
        const char *t;
        if (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode) || sd_device_new_from_devnum(&d, 'b', st.st_rdev) < 0 ||
            sd_device_get_property_value(d, "ID_FS_TYPE", &t) < 0)
                return NULL;
        return strdup(t);
#else
        (void) dev;
        return NULL;
#endif
}

/* udev makes the by-label links once it has processed a drive; the agent
 * starts after the coldplug trigger (the unit's After=systemd-udev-trigger)
 * but possibly before udev is done. systemd-udev-settle.service would wait
 * for every device of every subsystem and is deprecated
 * (systemd-udev-settle.service(8)), so the agent waits, bounded, only for
 * the block devices the kernel has announced to be in udev's database. */
#define UDEV_BLOCK_WAIT_MS (30 * 1000)

#if NODEOS_SD_DEVICE
/* 1 when every block device is initialized in udev's database, 0 when one
 * is not yet, -errno when they cannot be listed. */
static int block_devices_initialized(void) {
        _cleanup_(sd_device_enumerator_unrefp) sd_device_enumerator *e = NULL;
        int r = sd_device_enumerator_new(&e);
        if (r < 0)
                return r;
        r = sd_device_enumerator_add_match_subsystem(e, "block", true);
        if (r < 0)
                return r;
        /* by default an enumerator hides the very devices waited for here */
        r = sd_device_enumerator_allow_uninitialized(e);
        if (r < 0)
                return r;
        for (sd_device *d = sd_device_enumerator_get_device_first(e); d; d = sd_device_enumerator_get_device_next(e))
                if (sd_device_get_is_initialized(d) == 0)
                        return 0;
        return 1;
}

static void wait_for_block_devices(void) {
        long long deadline = now_ms() + UDEV_BLOCK_WAIT_MS;
        int r;
        while ((r = block_devices_initialized()) == 0 && now_ms() < deadline)
                usleep(20 * 1000);
        if (r == 0)
                log_warning("cidata: udev has not processed every block device after %d s; looking for the label anyway",
                            UDEV_BLOCK_WAIT_MS / 1000);
        else if (r < 0)
                log_debug("cidata: cannot list block devices from udev: %s", strerror(-r));
}
#else
/* libsystemd before 240 (Ubuntu 18.04) has no public sd-device: udevadm
 * settle, which waits for the whole queue, bounded the same. */
static void wait_for_block_devices(void) {
        char *argv[] = { (char *) "udevadm", (char *) "settle", (char *) "--timeout=30", NULL };
        struct exec_result res = {};
        if (exec_run(argv, UDEV_BLOCK_WAIT_MS + 5000, &res) < 0 || res.status != 0)
                log_warning("cidata: udevadm settle did not finish; looking for the label anyway");
        exec_result_done(&res);
}
#endif

/* A filesystem labelled with one of LABELS (vfat or iso9660), mounted
 * read-only while READ takes the seed out of it. KIND names it in messages
 * and in the seed's source ("cidata:/dev/...", "config-2:/dev/..."). */
static int try_labelled(const struct datasource_options *o, const char * const labels[2], const char *kind,
                        int (*read)(const char *dir, const char *source, const char *shown, struct seed *ret),
                        struct seed *ret) {
        const char *by_label = o->by_label_dir ? o->by_label_dir : "/dev/disk/by-label";
        if (!o->by_label_dir && STREQ(o->root, "/"))
                wait_for_block_devices();
        for (size_t i = 0; i < 2; i++) {
                _cleanup_free_ char *dev = NULL, *src = NULL;
                if (asprintf(&dev, "%s/%s", by_label, labels[i]) < 0)
                        return -ENOMEM;
                if (access(dev, F_OK) < 0)
                        continue;
                /* both types are still tried: udev's word only sets the order */
                _cleanup_free_ char *known = udev_fs_type(dev);
                bool iso_first = known && STREQ(known, "iso9660");
                const char *fstypes[] = { iso_first ? "iso9660" : "vfat", iso_first ? "vfat" : "iso9660" };
                char mnt[] = "/run/node-agent-seed.XXXXXX";
                if (!mkdtemp(mnt))
                        return negative_errno();
                int r = -ENODEV;
                for (size_t f = 0; f < ELEMENTSOF(fstypes) && r < 0; f++)
                        r = mount(dev, mnt, fstypes[f], MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 ? negative_errno() : 0;
                if (r < 0) {
                        log_error("%s: cannot mount %s (vfat or iso9660): %s", kind, dev, strerror(-r));
                        rmdir(mnt);
                        return r;
                }
                if (asprintf(&src, "%s:%s", kind, dev) < 0)
                        r = -ENOMEM;
                else
                        r = read(mnt, src, dev, ret);
                umount2(mnt, MNT_DETACH);
                rmdir(mnt);
                if (r == -ENOENT)
                        log_error("%s: %s has no %s", kind, dev, STREQ(kind, "cidata") ? "meta-data" : "openstack/latest/meta_data.json");
                return r == -ENOENT ? -EBADMSG : r;
        }
        return -ENOENT;
}

static int try_cidata(const struct datasource_options *o, struct seed *ret) {
        static const char * const labels[2] = { "cidata", "CIDATA" };
        return try_labelled(o, labels, "cidata", seed_read_files, ret);
}

/* OpenStack's config drive (nova, and Ironic for bare metal): label
 * config-2, openstack/latest/ in it. */
static int try_config_drive(const struct datasource_options *o, struct seed *ret) {
        static const char * const labels[2] = { "config-2", "CONFIG-2" };
        return try_labelled(o, labels, "config-2", seed_read_config_drive, ret);
}

/* The value of one ds=nocloud option: "s=" or "seedfrom=". */
static char *seed_option(const char *opts) {
        for (const char *p = opts; p && *p;) {
                const char *end = strchr(p, ';');
                size_t l = end ? (size_t) (end - p) : strlen(p);
                if (l > 2 && strncmp(p, "s=", 2) == 0)
                        return strndup(p + 2, l - 2);
                if (l > 9 && strncmp(p, "seedfrom=", 9) == 0)
                        return strndup(p + 9, l - 9);
                p = end ? end + 1 : NULL;
        }
        return NULL;
}

char *datasource_url_from_cmdline(const char *cmdline) {
        char word[2048];
        for (const char *p = cmdline; cmdline_next_word(&p, word, sizeof(word));) {
                const char *opts = NULL;
                if (strncmp(word, "ds=nocloud-net;", 15) == 0)
                        opts = word + 15;
                else if (strncmp(word, "ds=nocloud;", 11) == 0)
                        opts = word + 11;
                if (!opts)
                        continue;
                char *url = seed_option(opts);
                if (!url || !*url) {
                        free(url);
                        continue;
                }
                size_t l = strlen(url);
                if (url[l - 1] != '/') {
                        char *u = NULL;
                        if (asprintf(&u, "%s/", url) < 0)
                                u = NULL;
                        free(url);
                        url = u;
                }
                return url;
        }
        return NULL;
}

int datasource_pin_from_cmdline(const char *cmdline, char **ret) {
        char word[2048];
        *ret = NULL;
        for (const char *p = cmdline; cmdline_next_word(&p, word, sizeof(word));) {
                if (strncmp(word, SEED_PIN_PARAM, strlen(SEED_PIN_PARAM)) != 0 || !word[strlen(SEED_PIN_PARAM)])
                        continue;
                const char *v = word + strlen(SEED_PIN_PARAM);
                /* curl's own form, as many as ';' separates: sha256// and a
                 * base64 SHA-256 (44 characters ending in '=') */
                for (const char *q = v; *q;) {
                        size_t l = strcspn(q, ";");
                        if (l != 8 + 44 || strncmp(q, "sha256//", 8) != 0 || q[8 + 43] != '=' ||
                            strspn(q + 8, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43) {
                                log_error("%s: want sha256//<base64 SHA-256 of the server's public key> "
                                          "(openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | "
                                          "openssl dgst -sha256 -binary | base64), several separated by ';'", word);
                                free(*ret);
                                *ret = NULL;
                                return -EINVAL;
                        }
                        q += l + (q[l] == ';');
                }
                free(*ret);     /* the last one wins, as with the kernel's own parameters */
                if (!(*ret = strdup(v)))
                        return -ENOMEM;
        }
        return 0;
}

/* Fetches URL's meta-data and user-data; PIN (NULL: none) is the
 * nodeos.seed_pin= of the kernel command line, the only place it is read
 * from: the boot configuration is trusted, an SMBIOS serial is the
 * hypervisor's. */
static int fetch_url(const struct datasource_options *o, const char *url, const char *pin, struct seed *ret) {
        _cleanup_free_ char *mu = NULL, *uu = NULL, *err = NULL, *src = NULL;
        struct seed s = {};
        int r;
        if (pin && strncasecmp(url, "https://", 8) != 0) {
                log_error("ds=nocloud: %s pins the seed server's key, but the seed URL %s is not https: refusing it", SEED_PIN_PARAM, url);
                return -EPROTO;
        }
        struct http_options h = {
                .timeout_ms = o->http_timeout_ms > 0 ? o->http_timeout_ms : 10000,
                .attempts = o->http_attempts > 0 ? o->http_attempts : 6,
                .backoff_ms = o->http_backoff_ms > 0 ? o->http_backoff_ms : 500,
                .pinned_pubkey = pin,
        };
        if (asprintf(&mu, "%smeta-data", url) < 0 || asprintf(&uu, "%suser-data", url) < 0 ||
            asprintf(&src, "url:%s", url) < 0)
                return -ENOMEM;
        r = http_get(mu, &h, &s.meta_data, &s.meta_len, &err);
        if (r < 0) {
                log_error("ds=nocloud: cannot fetch %s: %s%s", mu, err ? err : strerror(-r),
                          pin && r == -EACCES ? " (" SEED_PIN_PARAM " on the kernel command line)" : "");
                return r == -ENOENT ? -EBADMSG : r;
        }
        free(err);
        err = NULL;
        r = http_get(uu, &h, &s.user_data, &s.user_len, &err);
        if (r < 0) {
                log_error("ds=nocloud: cannot fetch %s: %s", uu, err ? err : strerror(-r));
                seed_done(&s);
                return r == -ENOENT ? -EBADMSG : r;
        }
        /* names without a trailing slash: "<url>meta-data" */
        s.source = TAKE_PTR(src);
        s.meta_name = TAKE_PTR(mu);
        s.user_name = TAKE_PTR(uu);
        *ret = s;
        return 0;
}

static int try_url(const struct datasource_options *o, struct seed *ret) {
        _cleanup_free_ char *cmdline = NULL, *url = NULL;
        if (read_full_file(o->cmdline_path ? o->cmdline_path : "/proc/cmdline", &cmdline, NULL) < 0)
                return -ENOENT;
        url = datasource_url_from_cmdline(cmdline);
        if (!url)
                return -ENOENT;
        _cleanup_free_ char *pin = NULL;
        int r = datasource_pin_from_cmdline(cmdline, &pin);
        return r < 0 ? r : fetch_url(o, url, pin, ret);
}

/* The SMBIOS system serial number, where QEMU (-smbios type=1,serial=...),
 * libvirt and Proxmox users put the seed URL when they cannot edit the
 * kernel command line; the same "ds=nocloud;s=URL" as there. */
static int try_smbios(const struct datasource_options *o, struct seed *ret) {
        _cleanup_free_ char *serial = NULL, *url = NULL;
        if (read_file_in_root(o->root, o->smbios_serial_path ? o->smbios_serial_path : SMBIOS_SERIAL, &serial, NULL) < 0)
                return -ENOENT;
        url = datasource_url_from_cmdline(serial);
        if (!url)
                return -ENOENT;
        _cleanup_free_ char *cmdline = NULL, *pin = NULL;
        if (read_full_file(o->cmdline_path ? o->cmdline_path : "/proc/cmdline", &cmdline, NULL) >= 0) {
                int r = datasource_pin_from_cmdline(cmdline, &pin);
                if (r < 0)
                        return r;
        }
        return fetch_url(o, url, pin, ret);
}

int datasource_fetch(const struct datasource_options *o, struct seed *ret) {
        static const struct { const char *name; int (*fn)(const struct datasource_options *, struct seed *); } sources[] = {
                { "seed directory " SEED_DIR, try_seed_dir },
                { "cidata filesystem", try_cidata },
                { "OpenStack config drive", try_config_drive },
                { "ds=nocloud URL on the kernel command line", try_url },
                { "ds=nocloud URL in the SMBIOS serial number", try_smbios },
        };
        for (size_t i = 0; i < ELEMENTSOF(sources); i++) {
                int r = sources[i].fn(o, ret);
                if (r >= 0) {
                        log_info("seed: using %s (%s)", sources[i].name, ret->source);
                        return 0;
                }
                if (r != -ENOENT)
                        return r;
                log_debug("seed: no %s", sources[i].name);
        }
        log_error("no seed found: tried %s, a filesystem labelled cidata/CIDATA, one labelled config-2 (OpenStack config drive), and "
                  "ds=nocloud;s=<url> on the kernel command line and in the SMBIOS serial number (%s)", SEED_DIR, SMBIOS_SERIAL);
        return -ENOENT;
}
