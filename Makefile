# ngx_s3_kms — build, run and test.
#
#   make run    install what is missing, build, start the demo stack
#   make stop   stop what `make run` started
#   make test   install, build, run every test; ends with "N passed, N failed"
#
# Everything built lands in build/; everything `make run` starts lives in run/.

SHELL       := /bin/bash
TOP         := $(CURDIR)
BUILD       := build
NGX_SRC     ?= /usr/share/nginx/src
NGX_BUILD   := $(TOP)/build/nginx
MODULE      := $(NGX_BUILD)/objs/ngx_http_s3_kms_module.so
ASAN_BUILD  := $(TOP)/build/nginx-asan
ASAN_MODULE := $(ASAN_BUILD)/objs/ngx_http_s3_kms_module.so

CC          ?= cc
PKG_CFLAGS  := -I/usr/include/libxml2
LIBS        := -lssl -lcrypto -ljansson -lxml2 -lhiredis -lz
# Intel's ipsec-mb for AES-GCM where it is installed (tools/install-deps
# installs it on amd64): see kms_gcm_use() in kms_core/kms_crypto.h
ifneq ($(wildcard /usr/include/intel-ipsec-mb.h),)
PKG_CFLAGS  += -DKMS_HAVE_IPSEC_MB
LIBS        += -lIPSec_MB
endif
WARN        := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
               -Wshadow -Wpointer-arith -Werror
LIB_CFLAGS  := -std=gnu11 -g -O2 -fPIC $(WARN) -Ikms_core -Is3 $(PKG_CFLAGS)
SAN_FLAGS   := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
TEST_CFLAGS := -std=gnu11 -g -O1 $(WARN) -Ikms_core -Is3 -Itests $(PKG_CFLAGS) \
               $(SAN_FLAGS) -DTEST_VECTORS='"$(TOP)/tests/vectors"'

KMS_SRCS    := $(sort $(wildcard kms_core/*.c))
S3_SRCS     := $(sort $(wildcard s3/*.c))
NGX_SRCS    := $(sort $(wildcard ngx_module/*.c))
LIB_HDRS    := $(wildcard kms_core/*.h s3/*.h)
TEST_SRCS   := $(sort $(wildcard tests/test_*.c))
TEST_BINS   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
SAN_OBJS    := $(patsubst %.c,$(BUILD)/san/%.o,$(KMS_SRCS) $(S3_SRCS))
JOBS        := $(shell nproc 2>/dev/null || echo 2)
TOOL_SRCS   := $(sort $(wildcard tools/*.c))
TOOL_BINS   := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

# nginx's configure lists the sources: run it again when the list changes
$(shell mkdir -p build && echo $(KMS_SRCS) $(S3_SRCS) $(NGX_SRCS) \
    > build/sources.new && (cmp -s build/sources.new build/sources.txt \
    || mv build/sources.new build/sources.txt))

.PHONY: all deps build module asan-module unit e2e test test-asan run stop fuzz \
        bench-kms bench-s3 clean

all: build

# ---- dependencies --------------------------------------------------------

deps:
	@tools/install-deps

# ---- the module ----------------------------------------------------------

build: module $(TOOL_BINS)

module: $(MODULE)

$(NGX_BUILD)/objs/Makefile: config build/sources.txt
	@rm -rf $(NGX_BUILD) && mkdir -p $(BUILD) && cp -a $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && source ./conf_flags && \
	  ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt='-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2' \
	    --with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC' \
	    --add-dynamic-module=$(TOP) >$(TOP)/build/configure.log 2>&1 \
	  || { tail -20 $(TOP)/build/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(KMS_SRCS) $(S3_SRCS) $(NGX_SRCS) \
           $(LIB_HDRS) $(wildcard ngx_module/*.h)
	@$(MAKE) -s -C $(NGX_BUILD) -f objs/Makefile modules >$(BUILD)/module.log 2>&1 \
	  || { grep -E 'error|Error' -A3 $(BUILD)/module.log | head -60; exit 1; }
	@echo "built $(MODULE)"

# The same module built with AddressSanitizer and UBSan, for `make test-asan`.
$(ASAN_BUILD)/objs/Makefile: config build/sources.txt
	@rm -rf $(ASAN_BUILD) && mkdir -p $(BUILD) && cp -a $(NGX_SRC) $(ASAN_BUILD)
	cd $(ASAN_BUILD) && source ./conf_flags && \
	  ./configure "$${NGX_CONF_FLAGS[@]}" \
	    --with-cc-opt='-g -O1 -fPIC -fsanitize=address,undefined -fno-omit-frame-pointer' \
	    --with-ld-opt='-fPIC -fsanitize=address,undefined' \
	    --add-dynamic-module=$(TOP) >$(TOP)/build/configure-asan.log 2>&1 \
	  || { tail -20 $(TOP)/build/configure-asan.log; exit 1; }

$(ASAN_MODULE): $(ASAN_BUILD)/objs/Makefile $(KMS_SRCS) $(S3_SRCS) $(NGX_SRCS) \
                $(LIB_HDRS) $(wildcard ngx_module/*.h)
	@$(MAKE) -s -C $(ASAN_BUILD) -f objs/Makefile modules >$(BUILD)/module-asan.log 2>&1 \
	  || { grep -E 'error|Error' -A3 $(BUILD)/module-asan.log | head -60; exit 1; }
	@echo "built $(ASAN_MODULE)"

# ---- command-line tools ---------------------------------------------------

$(BUILD)/tools/%: tools/%.c $(KMS_SRCS) $(S3_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -o $@ $< $(KMS_SRCS) $(S3_SRCS) $(LIBS)

# ---- unit tests (ASan + UBSan) ------------------------------------------

# the libraries compiled once with the sanitizers, linked into every test
$(BUILD)/san/%.o: %.c $(LIB_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c tests/unit.h $(SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(SAN_OBJS) $(LIBS) -lcmocka

unit: $(TEST_BINS) $(TOOL_BINS)
	@tools/run-tests --unit $(TEST_BINS)

asan-module: $(ASAN_MODULE)

# ---- end-to-end tests -------------------------------------------------------

e2e: build
	@tools/run-tests --e2e t/*.t

test: deps
	@$(MAKE) -s -j$(JOBS) build $(TEST_BINS)
	@tools/run-tests --unit $(TEST_BINS) --e2e t/*.t

test-asan: deps
	@$(MAKE) -s -j$(JOBS) build $(ASAN_MODULE) $(TEST_BINS)
	@S3KMS_MODULE=$(ASAN_MODULE) S3KMS_ASAN=1 tools/run-tests --e2e t/*.t

# ---- fuzzing ---------------------------------------------------------------

$(BUILD)/fuzz/%: tests/fuzz/%.c $(KMS_SRCS) $(S3_SRCS) $(LIB_HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Ikms_core -Is3 $(PKG_CFLAGS) \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  -o $@ $< $(KMS_SRCS) $(S3_SRCS) $(LIBS)

fuzz: deps $(FUZZ_BINS)
	@tools/run-fuzz $(FUZZ_BINS)

# ---- the demo stack --------------------------------------------------------

run: deps build
	@tools/stack start

stop:
	@tools/stack stop

# ---- benchmarks ------------------------------------------------------------

bench-kms: deps build
	@bench/kms-bench

bench-s3: deps build
	@bench/s3-bench

clean:
	rm -rf $(BUILD)
