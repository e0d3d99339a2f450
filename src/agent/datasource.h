/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* NoCloud datasources, tried in this fixed order (no slow probing):
 *   1. the seed directory /var/lib/cloud/seed/nocloud (under --root)
 *   2. a filesystem labelled cidata or CIDATA (vfat or iso9660), found by
 *      /dev/disk/by-label, mounted read-only for the copy
 *   3. ds=nocloud;s=<url> (or ds=nocloud-net) on the kernel command line,
 *      url file://, http:// or https://, fetched with libcurl (timeouts,
 *      bounded retries with exponential backoff; an https URL redirects to
 *      https only, and nodeos.seed_pin= on the command line pins its key)
 *   4. the same ds=nocloud;s=<url> in the SMBIOS system serial number
 *      (/sys/class/dmi/id/product_serial: qemu -smbios type=1,serial=...)
 * The first source that has a meta-data file wins. */

#include <stddef.h>
#include "shared/seed.h"

struct datasource_options {
        const char *root;               /* "/" on a node */
        const char *cmdline_path;       /* default /proc/cmdline */
        const char *by_label_dir;       /* default /dev/disk/by-label */
        const char *smbios_serial_path; /* in root; default /sys/class/dmi/id/product_serial */
        int http_timeout_ms;            /* per attempt, default 10000 */
        int http_attempts;              /* default 6 */
        int http_backoff_ms;            /* first delay, doubled per attempt, default 500 */
};

/* Tries the sources in order; -ENOENT (after logging what was tried) when
 * none has a seed, other -errno on a source that exists but fails. */
int datasource_fetch(const struct datasource_options *o, struct seed *ret);
/* Parses "ds=nocloud;s=URL" from a kernel command line; NULL if absent.
 * Accepts both "s=" and "seedfrom="; a trailing '/' is added. */
char *datasource_url_from_cmdline(const char *cmdline);
/* nodeos.seed_pin=sha256//<base64>[;...] from a kernel command line into
 * *ret (NULL when absent): an https seed URL's server must present one of
 * these public keys (a self-signed server is then fine), and any other
 * seed URL is refused. -EINVAL (logged, naming the parameter) when
 * malformed. */
int datasource_pin_from_cmdline(const char *cmdline, char **ret);
