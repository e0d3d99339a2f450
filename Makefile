# dojot-nodeos: build, test and image targets. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := all

BUILD   ?= build
CC      ?= cc
# libssl: http.c hands in-memory PEMs to OpenSSL itself on a libcurl older
# than 7.77 (Ubuntu 18.04's 7.58; see the comment there).
PKGS    := yaml-0.1 libcjson libcurl libsystemd libarchive libcrypto libssl
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

# Debian package that provides each pkg-config name (for the one-line hint).
deb_yaml-0.1   := libyaml-dev
deb_libcjson   := libcjson-dev
deb_libcurl    := libcurl4-openssl-dev
deb_libsystemd := libsystemd-dev
deb_libarchive := libarchive-dev
deb_libcrypto  := libssl-dev
deb_libssl     := libssl-dev
deb_cmocka     := libcmocka-dev

ifeq ($(filter help deps clean test qemu-test bench bench-build image image-% plan pxe update-bundle,$(MAKECMDGOALS)),)
$(foreach p,$(PKGS) cmocka,$(if $(shell pkg-config --exists $(p) && echo y),,$(error missing $(p): install the Debian package $(deb_$(p)) (or run 'make deps' as root))))
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

# libcurl and libarchive are opened on first use (src/shared/libload.h), not
# linked into node-agent and nodeos-seedgen: with them the loader maps ~45
# more libraries at every start, for steps most roles never run. Their
# headers still compile in; the sonames to dlopen are those of the libraries
# compiled against. Tests and fuzzers link everything (test-docker writes
# archives with libarchive itself). -ldl -lpthread: glibc before 2.34
# (Ubuntu 18.04's 2.27) keeps dlopen and pthread_* outside libc.
DLOPEN_PKGS := libcurl libarchive
AGENT_LIBS  := $(shell pkg-config --libs $(filter-out $(DLOPEN_PKGS),$(PKGS)) 2>/dev/null) -ldl -lpthread
soname = $(shell objdump -p "$$($(CC) -print-file-name=$(1).so)" 2>/dev/null | sed -n 's/^ *SONAME *//p')
$(foreach p,$(DLOPEN_PKGS),$(eval SONAME_$(p) := $(call soname,$(p))))
# what the libraries built against make the agent do: the sonames it
# dlopens, and sd-device (udev's database), public API from libsystemd 240
# (Ubuntu 18.04 has 237), which datasource.c asks for the seed drive's type
LIB_FLAGS := -DLIBCURL_SONAME='"$(SONAME_libcurl)"' -DLIBARCHIVE_SONAME='"$(SONAME_libarchive)"' \
             $(shell pkg-config --atleast-version=240 libsystemd 2>/dev/null && echo -DNODEOS_SD_DEVICE=1)
ifeq ($(filter help deps clean test qemu-test bench bench-build image image-% plan pxe update-bundle,$(MAKECMDGOALS)),)
$(foreach p,$(DLOPEN_PKGS),$(if $(SONAME_$(p)),,$(error cannot find the soname of $(p) (objdump -p on $(CC) -print-file-name=$(p).so): the agent dlopens it by that name; install $(deb_$(p)) and binutils)))
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CFLAGS  ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) $(LIB_FLAGS) -Isrc -DNODE_AGENT_VERSION='"$(VERSION)"'
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -O1 -g

# Zones (README "Layout"), one static library each, dependencies only
# downward: basic <- shared <- {agent, fleet}. The link lines below are the
# proof: node-agent is linked without libfleet, nodeos-seedgen without
# libagent, so a call across is an undefined symbol
# (tests/integration/zones.sh checks the binaries and the includes).
ZONES      := basic shared agent fleet
zone_src    = $(filter-out src/$(1)/main.c,$(sort $(wildcard src/$(1)/*.c src/$(1)/*/*.c)))
TEST_SRC   := $(sort $(wildcard src/test/test-*.c))
FUZZ_SRC   := $(sort $(wildcard src/fuzz/fuzz-*.c))
HEADERS    := $(wildcard src/*/*.h src/*/*/*.h)

obj = $(patsubst src/%.c,$(1)/obj/%.o,$(2))

# --- the programs, plain and sanitized builds ------------------------------
define variant
$(1)/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $$(dir $$@)
	@echo "  CC      $$@"
	@$$(CC) $$(ALL_CFLAGS) $(2) -c $$< -o $$@
$(foreach z,$(ZONES),
$(1)/lib$(z).a: $$(call obj,$(1),$$(call zone_src,$(z)))
	@rm -f $$@; ar rcs $$@ $$^
)
$(1)/node-agent: $(1)/obj/agent/main.o $(1)/libagent.a $(1)/libshared.a $(1)/libbasic.a
	@echo "  LD      $$@"
	@$$(CC) $(2) $$^ $$(AGENT_LIBS) -o $$@
$(1)/nodeos-seedgen: $(1)/obj/fleet/main.o $(1)/libfleet.a $(1)/libshared.a $(1)/libbasic.a
	@echo "  LD      $$@"
	@$$(CC) $(2) $$^ $$(AGENT_LIBS) -o $$@
$(1)/tests/%: $(1)/obj/test/%.o $(1)/libagent.a $(1)/libfleet.a $(1)/libshared.a $(1)/libbasic.a
	@mkdir -p $$(dir $$@)
	@echo "  LD      $$@"
	@$$(CC) $(2) $$^ $$(PKG_LIBS) $$(CMOCKA_LIBS) -o $$@
endef
$(eval $(call variant,$(BUILD),))
$(eval $(call variant,$(BUILD)/asan,$(SAN_FLAGS)))

TESTS      := $(patsubst src/test/%.c,$(BUILD)/tests/%,$(TEST_SRC))
ASAN_TESTS := $(patsubst src/test/%.c,$(BUILD)/asan/tests/%,$(TEST_SRC))

.PHONY: all agent tests help deps clean test unit fuzz fuzz-smoke check-c image seeds qemu-test
all: $(BUILD)/node-agent $(BUILD)/nodeos-seedgen
agent: $(BUILD)/node-agent
tests: $(TESTS) $(ASAN_TESTS)

# --- fuzzing (libFuzzer, clang) -------------------------------------------
FUZZ_CC   ?= clang
FUZZ_BINS := $(patsubst src/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all $(PKG_CFLAGS) $(LIB_FLAGS) -Isrc -DNODE_AGENT_VERSION='"fuzz"'
$(BUILD)/fuzz/obj/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/libparsers.a: $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(call zone_src,fleet) $(call zone_src,shared) $(call zone_src,basic))
	@rm -f $@; ar rcs $@ $^
$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/fuzz/%.o $(BUILD)/fuzz/libparsers.a
	@echo "  LD      $@"
	@$(FUZZ_CC) -fsanitize=fuzzer,address,undefined $^ $(PKG_LIBS) -o $@
FUZZ_SECONDS ?= 300
fuzz: $(FUZZ_BINS)  ## long fuzzing run of every target (FUZZ_SECONDS each)
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz-corpus/$$n $(BUILD)/fuzz-artifacts; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)/fuzz-artifacts/$$n- \
	    $(BUILD)/fuzz-corpus/$$n src/fuzz/corpus/$$n || exit 1; done
fuzz-smoke: $(FUZZ_BINS)
	@tests/fuzz-smoke.sh $(FUZZ_BINS)

# --- tests -----------------------------------------------------------------
deps:  ## install build and test dependencies (Debian 12, as root)
	@tools/install-deps test

test:  ## the CI suite: deps, unit tests plain + ASan/UBSan, fuzz smoke, integration, QEMU smoke
	@tools/install-deps test
	@$(MAKE) --no-print-directory tests $(BUILD)/node-agent $(BUILD)/nodeos-seedgen $(BUILD)/asan/node-agent $(FUZZ_BINS)
	@tests/run-all.sh

qemu-test:  ## the full QEMU suite: builds missing role images, boots every case (~3 h under TCG)
	@tools/install-deps test
	@$(MAKE) --no-print-directory $(BUILD)/node-agent $(BUILD)/nodeos-seedgen
	@tests/run-all.sh qemu-full

# --- benchmarks (bench/README.md): VMs under QEMU, one at a time ------------
.PHONY: bench bench-build
bench:  ## benchmarks: lb at 100k connections, few-devices nginx, first boot vs cloud-init (BENCH_QUICK=1: short runs)
	@tools/install-deps bench
	@$(MAKE) --no-print-directory $(BUILD)/node-agent
	@BUILD=$(BUILD) bench/selftest.sh
	@BUILD=$(BUILD) qemu-tests/ensure-images.sh lb verne
	@for b in bench/*.sh; do case $$(basename $$b) in build.sh|lib.sh|cloud-init-tree.sh|selftest.sh) continue ;; esac; \
	  BUILD=$(BUILD) $$b $(if $(filter 1,$(BENCH_QUICK)),--quick) || exit 1; done
bench-build:  ## image build timings: cold, warm, agent-only, and the same with mkosi (scratch copy; repo cache untouched)
	@tools/install-deps bench
	@BUILD=$(BUILD) bench/build.sh

unit: tests  ## unit tests only (plain and sanitized)
	@tests/run-all.sh unit

# --- images ----------------------------------------------------------------
ROLE    ?= verne
PROFILE ?= bookworm
image:  ## build out/$(PROFILE)/$(ROLE)/ (ROLE=all for the six); PLAN=1 prints the plan only
	@tools/install-deps image
	@$(MAKE) --no-print-directory $(BUILD)/node-agent
	@AGENT_BIN="$(abspath $(BUILD))/node-agent" image/build-image --profile "$(PROFILE)" --role "$(ROLE)" $(if $(PLAN),--plan) $(if $(RAW),--raw) \
	  $(if $(IMAGES_DIR),--images-dir "$(IMAGES_DIR)") $(if $(K8S_BUNDLE),--k8s-bundle "$(K8S_BUNDLE)")

# A signed update bundle of a built image (image/make-bundle; image/README.md).
.PHONY: update-bundle
update-bundle:  ## signed update bundle of out/$(PROFILE)/$(ROLE)/ [UPDATE_KEY=file] [BUNDLE_FLAGS=--counter N ...]
	@tools/install-deps image
	@image/make-bundle $(if $(UPDATE_KEY),--key "$(UPDATE_KEY)") $(BUNDLE_FLAGS) "out/$(PROFILE)/$(ROLE)"

INVENTORY ?= cloud-init/inventories/100k
SEEDS_OUT ?= out/seeds
seeds: $(BUILD)/nodeos-seedgen  ## per-node NoCloud seeds from an ansible-dojot inventory: INVENTORY=dir [SEEDS_OUT=out/seeds]
	@$(BUILD)/nodeos-seedgen $(SEEDGEN_FLAGS) "$(INVENTORY)" "$(SEEDS_OUT)"

# PXE: the boot server tree for a rollout (image/make-pxe): built images
# from out/$(PROFILE)/<role>/, seeds from $(SEEDS), iPXE and a dnsmasq.conf.
SEEDS ?= $(SEEDS_OUT)
.PHONY: pxe
pxe:  ## PXE/iPXE boot tree in out/pxe: PXE_SERVER=ip [PXE_IFACE=eth0] [SEEDS=out/seeds] [PROFILE=bookworm]
	@tools/install-deps pxe
	@image/make-pxe --server "$(PXE_SERVER)" --seeds "$(SEEDS)" --profile "$(PROFILE)" $(if $(PXE_IFACE),--iface "$(PXE_IFACE)") \
	  $(if $(PXE_IMAGES),--images "$(PXE_IMAGES)") $(if $(PXE_OUT),--out "$(PXE_OUT)") \
	  $(if $(PXE_DHCP_RANGE),--dhcp-range "$(PXE_DHCP_RANGE)") $(if $(PXE_GATEWAY),--gateway "$(PXE_GATEWAY)") $(PXE_FLAGS)

clean:
	rm -rf $(BUILD)

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 16
