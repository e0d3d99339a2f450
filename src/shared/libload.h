/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* libcurl and libarchive, opened on first use (dlopen) instead of linked.
 * Linked, they bring in about 45 more shared libraries (gnutls, krb5, ldap,
 * ssh2, nghttp2 through libcurl; libxml2, ICU, libstdc++ through libarchive)
 * that the dynamic loader maps and relocates at every start of the agent:
 * ~4 ms natively, 0.7 s under QEMU without KVM at first boot, paid also by
 * roles that never fetch or load anything (lb seeded from a cidata drive).
 *
 * As systemd does for its optional libraries: each function the agent uses
 * is a pointer sym_<name> of that function's own type, set by libload_*()
 * and called by that name (which also keeps curl's typecheck macros around
 * curl_easy_setopt out of the way). The lists below are the only place a
 * function is named: declaration, definition and lookup all come from them. */

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>

#define LIBLOAD_CURL_SYMBOLS(X) \
        X(curl_global_init) \
        X(curl_easy_init) \
        X(curl_easy_setopt) \
        X(curl_easy_perform) \
        X(curl_easy_getinfo) \
        X(curl_easy_reset) \
        X(curl_easy_cleanup) \
        X(curl_easy_strerror) \
        X(curl_version_info) \
        X(curl_slist_append) \
        X(curl_slist_free_all)

#define LIBLOAD_ARCHIVE_SYMBOLS(X) \
        X(archive_read_new) \
        X(archive_read_support_filter_all) \
        X(archive_read_support_format_tar) \
        X(archive_read_open_filename) \
        X(archive_read_next_header) \
        X(archive_read_data) \
        X(archive_read_free) \
        X(archive_error_string) \
        X(archive_entry_pathname) \
        X(archive_entry_size)

#define LIBLOAD_DECLARE(s) extern __typeof__(s) *sym_##s;
LIBLOAD_CURL_SYMBOLS(LIBLOAD_DECLARE)
LIBLOAD_ARCHIVE_SYMBOLS(LIBLOAD_DECLARE)

/* Opens the library once per process (thread-safe; later calls return 0 at
 * once), sets every sym_ pointer of its list, and for libcurl runs
 * curl_global_init. -ELIBACC when the library cannot be opened, lacks one of
 * the functions or does not initialise: then no pointer of the list is set,
 * nothing stays open, the next call tries again, and *error (may be NULL)
 * gets a new string naming the soname, what needs it and the loader's
 * reason. */
int libload_curl(char **error);
int libload_archive(char **error);

/* Tests only: the sonames the next load tries instead of the ones the
 * agent was built against (LIBCURL_SONAME, LIBARCHIVE_SONAME); NULL is the
 * built-in one. -EBUSY, and nothing changed, when a library that is loaded
 * would get another soname (a load lasts for the life of the process). */
int libload_set_sonames_for_test(const char *curl, const char *archive);
