// tests/net/tls_test.cc — mach-netmsgd with TLS: hosts whose certificates
// come from the certificate authority they trust talk; a host whose
// certificate does not is refused, and no look-up reaches through it. The
// keys and certificates are made here with `openssl` (skipped without it).
#include <servers/netname_defs.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "net_fixture.h"
#include "process.h"

namespace nettest {
namespace {

class Tls : public NetTest {
 protected:
  static void SetUpTestSuite() {
    char dir[] = "/tmp/net-test-tls-XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    std::string out;
    if (run({"openssl", "version"}, &out) != 0) {
      why_ = "no openssl: " + out;
      return;
    }
    FILE* ext = fopen((dir_ + "/ext").c_str(), "w");
    fputs("subjectAltName=DNS:mach-netmsgd\n", ext);
    fclose(ext);
    const bool ok = authority("ca") && authority("rogue-ca") && certificate("h0", "ca") &&
                    certificate("h1", "ca") && certificate("rogue", "rogue-ca");
    if (!ok) why_ = "openssl failed: " + out_;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) run({"rm", "-rf", dir_});
  }

  void SetUp() override {
    if (!why_.empty()) GTEST_SKIP() << why_;
  }

  // mach-netmsgd's TLS options: `who`'s certificate and key, trusting `ca`.
  static std::vector<std::string> tls(const std::string& who, const std::string& ca) {
    return {"--tls-certificate", path(who + ".pem"), "--tls-key", path(who + ".key"), "--tls-trust",
            path(ca + ".pem")};
  }

 private:
  static std::string path(const std::string& f) { return dir_ + "/" + f; }
  static bool openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    if (run(argv, &out) == 0) return true;
    out_ += out;
    return false;
  }
  static bool authority(const std::string& name) {
    return openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    path(name + ".key"), "-out", path(name + ".pem"), "-days", "2", "-subj", "/CN=" + name});
  }
  static bool certificate(const std::string& name, const std::string& ca) {
    return openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=mach-netmsgd"}) &&
           openssl({"x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey",
                    path(ca + ".key"), "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2", "-extfile",
                    path("ext")});
  }

  static std::string dir_, why_, out_;
};
std::string Tls::dir_, Tls::why_, Tls::out_;

TEST_F(Tls, HostsWithCertificatesFromTheTrustedAuthorityTalk) {
  HostsOptions o;
  o.extra = {tls("h0", "ca"), tls("h1", "ca")};
  START_HOSTS(o);
  EXPECT_NE(hosts_.banner(0).find("TLS"), std::string::npos) << hosts_.banner(0);
  EXPECT_NE(hosts_.banner(1).find("TLS"), std::string::npos) << hosts_.banner(1);
  Task& server = hosts_.task(0);
  ASSERT_EQ(ok_words(server("new svc")).size(), 1u);
  ASSERT_EQ(server("checkin echo svc"), "ok");
  ASSERT_EQ(server("serve svc"), "ok");
  Task& client = hosts_.task(1);
  ASSERT_EQ(ok_words(client("lookup h0 echo e")).size(), 1u);
  EXPECT_EQ(ok_words(client("call e 50 1024")).size(), 2u);
  EXPECT_EQ(ok_words(client("ool e 1048576 2")).size(), 1u);
}

TEST_F(Tls, HostWithAnUntrustedCertificateIsRefused) {
  HostsOptions o;
  // h1's certificate is signed by an authority h0 does not trust (h1 trusts
  // h0's): h1 dials h0 and is refused, again and again.
  o.extra = {tls("h0", "ca"), tls("rogue", "ca")};
  o.await_connections = false;
  START_HOSTS(o);
  Task& server = hosts_.task(0);
  ASSERT_EQ(ok_words(server("new svc")).size(), 1u);
  ASSERT_EQ(server("checkin echo svc"), "ok");
  Task& rogue = hosts_.task(1);
  // Several of h1's dials have come and gone meanwhile.
  EXPECT_EQ(rogue("lookup h0 echo e 3000"), "err " + std::to_string(NETNAME_NO_SUCH_HOST));
  EXPECT_EQ(rogue("lookup " + hosts_.address(0) + " echo e"), "err " + std::to_string(NETNAME_HOST_NOT_FOUND));
  EXPECT_EQ(server("lookup h1 echo e"), "err " + std::to_string(NETNAME_NO_SUCH_HOST));
  EXPECT_NE(hosts_.log(0).find("refused"), std::string::npos) << hosts_.log(0);
}

}  // namespace
}  // namespace nettest
