# Keywarden. `make dev` runs a throw-away dev server; `make test` installs what the tests need and runs every test.
MVN ?= mvn
MVN_FLAGS ?= -B -ntp
JAR := kms-server/target/keywarden.jar
CDS := kms-server/target/keywarden-client.jsa
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: dev test build jar deps bench bench-cli bench-growth clean fuzz

dev: jar
	bin/keywarden server --dev

build jar: $(JAR) $(CDS)

$(JAR): $(shell find pom.xml */pom.xml proto/src */src/main -type f 2>/dev/null)
	$(MVN) $(MVN_FLAGS) -q -DskipTests install

# The client's class-data-sharing archive, which bin/keywarden maps into every client call: the JDK's and the jar's
# classes that the common commands load (CdsTraining runs them against a stand-in server), parsed and verified once
# here. A static archive, as a dynamic one (-XX:ArchiveClassesAtExit) leaves out picocli, whose classes are too old a
# class-file version for it. JVM flags as bin/keywarden's client defaults (G1 at dump time too: only then does the
# archive hold the module graph's objects). Written aside and renamed: a JVM that maps a truncated archive crashes.
# `make -B -o $(JAR) $(CDS)` remakes the archive alone, for a jar built without install.
CLIENT_JVM := -Xmx256m -Xss512k -XX:TieredStopAtLevel=1 -XX:CompileThresholdScaling=4 -XX:+UseG1GC -XX:-UsePerfData
$(CDS): $(JAR)
	rm -f $@ $@.tmp $@.classes
	java $(CLIENT_JVM) -XX:DumpLoadedClassList=$@.classes -cp $(CURDIR)/$(JAR) dev.keywarden.server.cli.CdsTraining
	java $(CLIENT_JVM) -Xshare:dump -XX:SharedClassListFile=$@.classes -XX:SharedArchiveFile=$@.tmp \
	  -cp $(CURDIR)/$(JAR) >$@.log 2>&1 || { cat $@.log; exit 1; }
	mv $@.tmp $@

# Unit tests (surefire) and end-to-end tests (failsafe *IT: real server, real CLI, SoftHSM2) in one run.
test: deps
	$(MVN) $(MVN_FLAGS) install

# Coverage-guided fuzzing of every @FuzzTest (Jazzer), FUZZ_SECONDS each; `make test` runs their seeds only.
# Jazzer fuzzes one @FuzzTest per JVM, so this runs surefire once per test method. jazzer-junit 0.24 takes the
# time limit only from @FuzzTest(maxDuration) or from libFuzzer arguments passed as the JUnit configuration
# parameters jazzer.internal.arg.N (arg.0 stands for argv[0]; later ones win over the annotation's). Findings are
# written into the test's seed directory (src/test/resources/.../<Class>Inputs/<method>/): fix the code, keep the
# file, so `make test` replays it. The generated corpus stays in <module>/.cifuzz-corpus/ (not committed).
# FUZZ=Class or FUZZ=Class#method fuzzes only the matching tests.
FUZZ_SECONDS ?= 60
FUZZ ?=
FUZZ_INSTRUMENT ?= dev.keywarden.**,org.bouncycastle.**,com.fasterxml.jackson.**,org.apache.sshd.**
fuzz: SHELL := /bin/bash
fuzz:
	@failed=""; \
	for file in $$(grep -rl --include='*FuzzTest.java' '@FuzzTest' */src/test/java); do \
	  module=$${file%%/*}; class=$$(basename $$file .java); \
	  for method in $$(grep -A1 '@FuzzTest' $$file | grep -oE 'void [A-Za-z0-9_]+' | cut -d' ' -f2); do \
	    case "$$class#$$method" in $(if $(FUZZ),$(FUZZ)*,*)) ;; *) continue ;; esac; \
	    echo "== fuzzing $$module $$class#$$method for $(FUZZ_SECONDS)s"; \
	    JAZZER_FUZZ=1 $(MVN) $(MVN_FLAGS) -pl $$module -am test -Dsurefire.failIfNoSpecifiedTests=false \
	      -Dtest="$$class#$$method" -Djazzer.internal.arg.0=fuzz \
	      -Djazzer.internal.arg.1=-max_total_time=$(FUZZ_SECONDS) -Djazzer.instrument='$(FUZZ_INSTRUMENT)' \
	      -DargLine=-Xmx1g 2>&1 | grep -E 'DONE|== Java|==[0-9]+==|FuzzTestFinding|Tests run:|BUILD (SUCCESS|FAILURE)|crash-'; \
	    [ "$${PIPESTATUS[0]}" = 0 ] || failed="$$failed $$class#$$method"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzzing found problems in:$$failed"; exit 1; fi

# SoftHSM2 for the PKCS#11 tests; OpenSC's pkcs11-tool and OpenSSL as clients nobody here wrote; PostgreSQL for the
# storage contract tests (they initdb their own throw-away server; Debian's package only provides the programs);
# Node.js for the JWT login tests, whose workload JWTs node's jose (pinned by kms-server/src/test/node/package-lock.json)
# signs, and for the interop test's grpc-js client; protoc and protoc-gen-go for the other languages' stubs; Debian's
# grpc_python_plugin, python3-grpcio and python3-protobuf for the interop test's Python client (run by /usr/bin/python3
# with stubs protoc makes at test time); buf (pinned by proto/buf/package-lock.json) for lint
# and breaking-change checks of the protos; nginx as a relying party checking the chain CRL.
deps:
	@if ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null \
	    || ! command -v openssl >/dev/null || [ ! -f /usr/lib/softhsm/libsofthsm2.so ]; then \
	  echo "Installing softhsm2, opensc and openssl (for the tests)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq softhsm2 opensc openssl >/dev/null; \
	fi
	@if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null || ! command -v ssh >/dev/null; then \
	  echo "Installing openssh-server and openssh-client (sshd, ssh and ssh-keygen judge the SSH CA's certificates)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq openssh-server openssh-client >/dev/null; \
	fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "Installing postgresql (the storage tests start a throw-away PostgreSQL server)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; \
	fi
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "Installing nodejs and npm (for the JWT login tests)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	@if ! command -v protoc >/dev/null || ! command -v protoc-gen-go >/dev/null \
	    || [ ! -f /usr/include/google/protobuf/duration.proto ]; then \
	  echo "Installing protobuf-compiler, libprotobuf-dev and protoc-gen-go (the C++, Python, Ruby, PHP and Go stub test)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq protobuf-compiler libprotobuf-dev protoc-gen-go >/dev/null; \
	fi
	@if ! command -v grpc_python_plugin >/dev/null \
	    || ! /usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1; then \
	  echo "Installing protobuf-compiler-grpc, python3-grpcio and python3-protobuf (the Python interop client)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq protobuf-compiler-grpc python3-grpcio python3-protobuf >/dev/null; \
	fi
	@if [ ! -x /usr/sbin/nginx ] || ! command -v curl >/dev/null; then \
	  echo "Installing nginx and curl (nginx checks the PKI's chain CRL as a relying party, curl is its client)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq nginx curl >/dev/null; \
	fi
	cd kms-server/src/test/node && npm ci --no-audit --no-fund --loglevel=error
	cd proto/buf && npm ci --no-audit --no-fund --loglevel=error
	@command -v java >/dev/null || { echo "a JDK 17+ is required"; exit 1; }
	@command -v $(MVN) >/dev/null || { echo "Maven is required"; exit 1; }

# The JVM options bin/keywarden gives the server, for the benchmarks that run a server or an engine in their own JVM:
# G1 with a 5 ms pause goal, and the heap on transparent huge pages where the kernel offers them (madvise or always).
THP := $(shell grep -qs '\[always\]\|\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled && echo -XX:+UseTransparentHugePages)
SERVER_JVM = -XX:+UseG1GC -XX:MaxGCPauseMillis=5 $(THP)

# Without BENCH: the transit JMH run, its Markdown table, the gRPC load run and the gRPC edges run (Encrypt beside a
# bare grpc-java echo, stored SignCsr, each with the client in the server's JVM and in its own), all into
# benchmarks/results/ (~15 min; run it on an otherwise idle machine). BENCH=regex runs only the matching JMH
# benchmarks and writes nothing.
bench: jar
	@test -f benchmarks/target/benchmarks.jar || $(MVN) $(MVN_FLAGS) -q -DskipTests install
ifeq ($(strip $(BENCH)),)
	benchmarks/cli-startup.sh
	java -jar benchmarks/target/benchmarks.jar 'TransitBenchmark' -rf json -rff benchmarks/results/transit-jmh.json
	mkdir -p benchmarks/target/softhsm/tokens
	echo "directories.tokendir = $(CURDIR)/benchmarks/target/softhsm/tokens" > benchmarks/target/softhsm/softhsm2.conf
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -jar benchmarks/target/benchmarks.jar \
	  'PkiSignBenchmark' -rf json -rff benchmarks/results/pki-jmh.json
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/pki-jmh.json benchmarks/results/pki-jmh.md
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -cp benchmarks/target/benchmarks.jar \
	  dev.keywarden.bench.PkiCpuCost benchmarks/results/pki-cpu.md
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java $(SERVER_JVM) \
	  -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.PkiThreadsCost benchmarks/results/pki-threads.md 3 3
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -jar benchmarks/target/benchmarks.jar \
	  'SshSignBenchmark' -rf json -rff benchmarks/results/ssh-jmh.json
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/ssh-jmh.json benchmarks/results/ssh-jmh.md
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -jar benchmarks/target/benchmarks.jar \
	  'JwtSignBenchmark' -rf json -rff benchmarks/results/jwt-jmh.json
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/jwt-jmh.json benchmarks/results/jwt-jmh.md
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.ResultsTable \
	  benchmarks/results/transit-jmh.json benchmarks/results/transit-jmh.md
	java $(SERVER_JVM) -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.GrpcLoadBenchmark \
	  benchmarks/results/grpc-load.md
	java $(SERVER_JVM) -cp benchmarks/target/benchmarks.jar \
	  dev.keywarden.bench.AuditOverheadBenchmark benchmarks/results/audit.md
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.AuditRecordCostBenchmark 32 8 2>/dev/null \
	  | grep '^round' | tee benchmarks/results/audit-record-cost.txt
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java $(SERVER_JVM) \
	  -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.GrpcEdgeBenchmark benchmarks/results/grpc-edges.md
	java -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.InvalidationLatencyBenchmark \
	  benchmarks/results/invalidation.md
	SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf java -cp benchmarks/target/benchmarks.jar \
	  dev.keywarden.bench.StoredWritesBenchmark benchmarks/results/stored-writes.md
	$(MAKE) --no-print-directory bench-growth
else
	java -jar benchmarks/target/benchmarks.jar $(BENCH)
endif

# CLI start-up alone: wall and CPU time of client calls beside `java -version`, into benchmarks/results/cli-startup.md.
bench-cli: jar
	benchmarks/cli-startup.sh

# Cost as the data grows (#15): transit with 10 / 1,000 / 100,000 keyrings, the PKI with 10,000 / 100,000 /
# 1,000,000 stored certificates (1% and 10% revoked), tokens 1,000 vs 1,000,000; each builds its data set in a temp
# directory and deletes it; into benchmarks/results/{transit,pki,token}-growth.md (~30 min on 2 busy cores, ~2 GB
# of disk at the peak).
GROWTH_ENV = SOFTHSM2_CONF=$(CURDIR)/benchmarks/target/softhsm/softhsm2.conf
bench-growth:
	@test -f benchmarks/target/benchmarks.jar || $(MVN) $(MVN_FLAGS) -q -DskipTests install
	mkdir -p benchmarks/target/softhsm/tokens
	echo "directories.tokendir = $(CURDIR)/benchmarks/target/softhsm/tokens" > benchmarks/target/softhsm/softhsm2.conf
	$(GROWTH_ENV) java -Xmx4g $(THP) -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.TransitGrowthBenchmark \
	  benchmarks/results/transit-growth.md
	$(GROWTH_ENV) java -Xmx4g $(THP) -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.PkiGrowthBenchmark \
	  benchmarks/results/pki-growth.md
	$(GROWTH_ENV) java -Xmx4g $(THP) -cp benchmarks/target/benchmarks.jar dev.keywarden.bench.TokenGrowthBenchmark \
	  benchmarks/results/token-growth.md

clean:
	$(MVN) $(MVN_FLAGS) -q clean
