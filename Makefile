# Keywarden. `make dev` runs a throw-away dev server; `make test` installs what the tests need and runs every test.
MVN ?= mvn
MVN_FLAGS ?= -B -ntp
JAR := kms-server/target/keywarden.jar
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test build jar deps bench clean

dev: jar
	bin/keywarden server --dev

build jar: $(JAR)

$(JAR): $(shell find pom.xml */pom.xml proto/src */src/main -type f 2>/dev/null)
	$(MVN) $(MVN_FLAGS) -q -DskipTests install

# Unit tests (surefire) and end-to-end tests (failsafe *IT: real server, real CLI, SoftHSM2) in one run.
test: deps
	$(MVN) $(MVN_FLAGS) install

# SoftHSM2 for the PKCS#11 tests; OpenSC's pkcs11-tool and OpenSSL as clients nobody here wrote.
deps:
	@if ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null \
	    || ! command -v openssl >/dev/null || [ ! -f /usr/lib/softhsm/libsofthsm2.so ]; then \
	  echo "Installing softhsm2, opensc and openssl (for the tests)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq softhsm2 opensc openssl >/dev/null; \
	fi
	@command -v java >/dev/null || { echo "a JDK 17+ is required"; exit 1; }
	@command -v $(MVN) >/dev/null || { echo "Maven is required"; exit 1; }

# Without BENCH: the transit JMH run, its Markdown table and the gRPC load run, all into benchmarks/results/ (~10 min;
# run it on an otherwise idle machine). BENCH=regex runs only the matching JMH benchmarks and writes nothing.
bench: jar
	@test -f benchmarks/target/benchmarks.jar || $(MVN) $(MVN_FLAGS) -q -DskipTests install
ifeq ($(strip $(BENCH)),)
	java -jar benchmarks/target/benchmarks.jar 'TransitBenchmark' -rf json -rff benchmarks/results/transit-jmh.json
	mkdir -p benchmarks/target/softhsm/tokens
	echo "directories.tokendir = $(CURDIR)/benchmarks/target/softhsm/tokens" > benchmarks/target/softhsm/softhsm2.conf
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -jar benchmarks/target/benchmarks.jar \
	  'PkiSignBenchmark' -rf json -rff benchmarks/results/pki-jmh.json
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/pki-jmh.json benchmarks/results/pki-jmh.md
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/transit-jmh.json benchmarks/results/transit-jmh.md
	java -XX:+UseG1GC -XX:MaxGCPauseMillis=5 -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.GrpcLoadBenchmark \
	  benchmarks/results/grpc-load.md
else
	java -jar benchmarks/target/benchmarks.jar $(BENCH)
endif

clean:
	$(MVN) $(MVN_FLAGS) -q clean
