#include "server/rest/http_server.h"

#include <arpa/inet.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/log.h"

namespace hpo::rest {

const std::string* HttpRequest::Query(absl::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a query key or value; '+' is a space there. A '%' not
// followed by two hex digits is kept as it is.
std::string DecodeQueryPart(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string PeerOf(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (info == nullptr || info->client_addr == nullptr) return "unknown";
  char host[INET6_ADDRSTRLEN] = {0};
  const sockaddr* addr = info->client_addr;
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return absl::StrCat(host, ":", ntohs(in->sin_port));
  }
  if (addr->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
    return absl::StrCat("[", host, "]:", ntohs(in6->sin6_port));
  }
  return "unknown";
}

HttpResponse PlainError(int status, int grpc_code, absl::string_view message) {
  HttpResponse r;
  r.status = status;
  // The message is ours and holds no characters that need escaping.
  r.body = absl::StrCat("{\"code\": ", grpc_code, ", \"message\": \"", message,
                        "\", \"details\": []}");
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------
// HTTPS: the certificate files, loaded with GnuTLS and reloaded on change.

namespace {

// What tells one version of a file from another: a change of any of these is
// taken for a new file.
struct FileVersion {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;

  bool operator==(const FileVersion& o) const {
    return exists == o.exists && device == o.device && inode == o.inode &&
           size == o.size && mtime_ns == o.mtime_ns;
  }
  bool operator!=(const FileVersion& o) const { return !(*this == o); }
};

// stat() follows symbolic links, so a Kubernetes secret volume's swap of its
// ..data link is a new inode.
FileVersion VersionOf(const std::string& path) {
  FileVersion v;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return v;
  v.exists = true;
  v.device = st.st_dev;
  v.inode = st.st_ino;
  v.size = st.st_size;
  v.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
  return v;
}

// A PEM file holds a few kilobytes; anything much larger is not one.
constexpr size_t kMaxPemBytes = 1 << 20;

// `TLS certificate file "/etc/hpo/tls.crt"`, for error messages.
std::string FileName(absl::string_view what, const std::string& path) {
  return absl::StrCat("TLS ", what, " file \"", path, "\"");
}

std::string ErrnoText(int error) {
  char buffer[256];
  // The GNU strerror_r, which returns the text (g++ defines _GNU_SOURCE).
  return strerror_r(error, buffer, sizeof(buffer));
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view what,
                                        const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        FileName(what, path), ": cannot read it: ", ErrnoText(errno)));
  }
  std::string data;
  char buffer[16384];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0 &&
         data.size() <= kMaxPemBytes) {
    data.append(buffer, n);
  }
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        FileName(what, path), ": cannot read it: ", ErrnoText(error)));
  }
  if (data.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat(FileName(what, path),
                                                   " is over ", kMaxPemBytes,
                                                   " bytes: not a PEM file"));
  }
  return data;
}

gnutls_datum_t Datum(const std::string& s) {
  gnutls_datum_t d;
  d.data = reinterpret_cast<unsigned char*>(const_cast<char*>(s.data()));
  d.size = static_cast<unsigned int>(s.size());
  return d;
}

// Owns a list of parsed certificates.
class CertList {
 public:
  CertList() = default;
  CertList(const CertList&) = delete;
  CertList& operator=(const CertList&) = delete;
  ~CertList() {
    for (gnutls_x509_crt_t crt : certs_) gnutls_x509_crt_deinit(crt);
  }
  std::vector<gnutls_x509_crt_t>& certs() { return certs_; }

 private:
  std::vector<gnutls_x509_crt_t> certs_;
};

// Every certificate of a PEM file, or an error naming the file.
absl::Status ParsePemCerts(absl::string_view what, const std::string& path,
                           const std::string& pem, CertList* out) {
  gnutls_x509_crt_t* certs = nullptr;
  unsigned int count = 0;
  const gnutls_datum_t data = Datum(pem);
  const int rc = gnutls_x509_crt_list_import2(&certs, &count, &data,
                                              GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(FileName(what, path),
                     " holds no PEM certificate: ", gnutls_strerror(rc)));
  }
  out->certs().assign(certs, certs + count);
  gnutls_free(certs);
  if (count == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(FileName(what, path), " holds no PEM certificate"));
  }
  return absl::OkStatus();
}

// "serial 1001, subject CN=localhost", for the log.
std::string Describe(gnutls_x509_crt_t crt) {
  std::string out = "serial ";
  unsigned char serial[64];
  size_t size = sizeof(serial);
  if (gnutls_x509_crt_get_serial(crt, serial, &size) == 0) {
    out += absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(serial), size));
  } else {
    out += "?";
  }
  gnutls_datum_t dn{};
  if (gnutls_x509_crt_get_dn3(crt, &dn, 0) == 0) {
    absl::StrAppend(
        &out, ", subject ",
        absl::string_view(reinterpret_cast<const char*>(dn.data), dn.size));
    gnutls_free(dn.data);
  }
  return out;
}

// The SHA-256 key ID of a public key, "" if it has none.
std::string KeyId(gnutls_pubkey_t key) {
  unsigned char id[64];
  size_t size = sizeof(id);
  if (gnutls_pubkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256, id, &size) < 0) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(id), size);
}

// A certificate chain and its private key, in the form GnuTLS takes them in
// a handshake.
struct CertPair {
  std::vector<gnutls_pcert_st> chain;
  gnutls_privkey_t key = nullptr;
  std::string description;  // Of the leaf certificate, for the log.

  CertPair() = default;
  CertPair(const CertPair&) = delete;
  CertPair& operator=(const CertPair&) = delete;
  ~CertPair() {
    for (gnutls_pcert_st& cert : chain) gnutls_pcert_deinit(&cert);
    if (key != nullptr) gnutls_privkey_deinit(key);
  }
};

absl::StatusOr<std::unique_ptr<CertPair>> LoadCertPair(
    const HttpTlsOptions& files) {
  absl::StatusOr<std::string> cert_pem =
      ReadPemFile("certificate", files.cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem =
      ReadPemFile("private key", files.key_file);
  if (!key_pem.ok()) return key_pem.status();

  CertList certs;
  if (absl::Status s =
          ParsePemCerts("certificate", files.cert_file, *cert_pem, &certs);
      !s.ok()) {
    return s;
  }
  auto pair = std::make_unique<CertPair>();
  pair->description = Describe(certs.certs()[0]);
  pair->chain.reserve(certs.certs().size());
  for (gnutls_x509_crt_t crt : certs.certs()) {
    gnutls_pcert_st pcert;
    if (int rc = gnutls_pcert_import_x509(&pcert, crt, 0); rc < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(FileName("certificate", files.cert_file),
                       ": cannot use a certificate: ", gnutls_strerror(rc)));
    }
    pair->chain.push_back(pcert);
  }

  if (int rc = gnutls_privkey_init(&pair->key); rc < 0) {
    pair->key = nullptr;
    return absl::InternalError(
        absl::StrCat("gnutls_privkey_init: ", gnutls_strerror(rc)));
  }
  const gnutls_datum_t key_data = Datum(*key_pem);
  if (int rc = gnutls_privkey_import_x509_raw(pair->key, &key_data,
                                              GNUTLS_X509_FMT_PEM, nullptr, 0);
      rc < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        FileName("private key", files.key_file),
        " holds no unencrypted PEM private key: ", gnutls_strerror(rc)));
  }
  gnutls_pubkey_t public_key = nullptr;
  if (int rc = gnutls_pubkey_init(&public_key); rc < 0) {
    return absl::InternalError(
        absl::StrCat("gnutls_pubkey_init: ", gnutls_strerror(rc)));
  }
  std::string key_id;
  if (gnutls_pubkey_import_privkey(public_key, pair->key, 0, 0) >= 0) {
    key_id = KeyId(public_key);
  }
  gnutls_pubkey_deinit(public_key);
  if (key_id.empty() || key_id != KeyId(pair->chain[0].pubkey)) {
    return absl::InvalidArgumentError(absl::StrCat(
        FileName("private key", files.key_file),
        " does not match the certificate in \"", files.cert_file, "\""));
  }
  return pair;
}

// The CA certificates that client certificates must chain to.
struct TrustList {
  gnutls_x509_trust_list_t list = nullptr;
  std::string description;  // For the log.

  TrustList() = default;
  TrustList(const TrustList&) = delete;
  TrustList& operator=(const TrustList&) = delete;
  ~TrustList() {
    if (list != nullptr) gnutls_x509_trust_list_deinit(list, 1);
  }
};

absl::StatusOr<std::shared_ptr<const TrustList>> LoadTrustList(
    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadPemFile("client CA", path);
  if (!pem.ok()) return pem.status();
  // Parsed once on its own for the error message and the log.
  CertList certs;
  if (absl::Status s = ParsePemCerts("client CA", path, *pem, &certs);
      !s.ok()) {
    return s;
  }
  auto trust = std::make_shared<TrustList>();
  if (int rc = gnutls_x509_trust_list_init(&trust->list, 0); rc < 0) {
    trust->list = nullptr;
    return absl::InternalError(
        absl::StrCat("gnutls_x509_trust_list_init: ", gnutls_strerror(rc)));
  }
  const gnutls_datum_t data = Datum(*pem);
  const int added = gnutls_x509_trust_list_add_trust_mem(
      trust->list, &data, nullptr, GNUTLS_X509_FMT_PEM, 0, 0);
  if (added <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(FileName("client CA", path), " holds no PEM certificate",
                     added < 0 ? absl::StrCat(": ", gnutls_strerror(added))
                               : std::string()));
  }
  trust->description = absl::StrCat(added, " CA certificate(s), the first ",
                                    Describe(certs.certs()[0]));
  return std::shared_ptr<const TrustList>(std::move(trust));
}

// Why the client certificate chain of `session` is refused, or "" when it
// chains to `trust`, is valid now and may authenticate a TLS client.
std::string CheckClientChain(gnutls_session_t session, const TrustList& trust) {
  unsigned int count = 0;
  const gnutls_datum_t* peers = gnutls_certificate_get_peers(session, &count);
  if (peers == nullptr || count == 0) return "no client certificate";
  if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509) {
    return "not an X.509 certificate";
  }
  CertList chain;
  for (unsigned int i = 0; i < count; ++i) {
    gnutls_x509_crt_t crt = nullptr;
    if (gnutls_x509_crt_init(&crt) < 0) return "out of memory";
    chain.certs().push_back(crt);
    if (int rc = gnutls_x509_crt_import(crt, &peers[i], GNUTLS_X509_FMT_DER);
        rc < 0) {
      return absl::StrCat("unreadable certificate: ", gnutls_strerror(rc));
    }
  }
  gnutls_typed_vdata_st purpose{};
  purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
  purpose.data = reinterpret_cast<unsigned char*>(
      const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT));
  unsigned int status = 0;
  const int rc = gnutls_x509_trust_list_verify_crt2(
      trust.list, chain.certs().data(), chain.certs().size(), &purpose, 1, 0,
      &status, nullptr);
  if (rc < 0) return gnutls_strerror(rc);
  if (status == 0) return "";
  std::string why = "not trusted";
  gnutls_datum_t text{};
  if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509,
                                                   &text, 0) == 0) {
    why.assign(reinterpret_cast<const char*>(text.data), text.size);
    gnutls_free(text.data);
  }
  return absl::StrCat(why, " (", Describe(chain.certs()[0]), ")");
}

}  // namespace

// The certificate, key and client CAs of an HTTPS server. GnuTLS asks for the
// certificate in each handshake (Retrieve); that is when the files are
// checked for changes, at most once a second.
//
// The certificates handed to a handshake must outlive the connection (GnuTLS
// keeps pointers to them), so a replaced pair is kept until every connection
// that may have taken it is closed: each connection notes the generation
// current when it was accepted, and a pair that was replaced when generation
// G ended is freed once no open connection was accepted at G or before.
class HttpServer::Tls {
 public:
  static absl::StatusOr<std::unique_ptr<Tls>> Create(
      const HttpTlsOptions& options) {
    std::unique_ptr<Tls> tls(new Tls(options));
    // Each version is taken before the file is read: a change while it is
    // read is then seen at the next check.
    const FileVersion cert_version = VersionOf(options.cert_file);
    const FileVersion key_version = VersionOf(options.key_file);
    absl::StatusOr<std::unique_ptr<CertPair>> pair = LoadCertPair(options);
    if (!pair.ok()) return pair.status();
    FileVersion ca_version;
    std::shared_ptr<const TrustList> trust;
    if (!options.client_ca_file.empty()) {
      ca_version = VersionOf(options.client_ca_file);
      absl::StatusOr<std::shared_ptr<const TrustList>> loaded =
          LoadTrustList(options.client_ca_file);
      if (!loaded.ok()) return loaded.status();
      trust = *std::move(loaded);
    }
    HPO_LOG(INFO) << "https: certificate " << (*pair)->description
                  << (trust != nullptr
                          ? absl::StrCat(
                                "; client certificates required, from ",
                                trust->description)
                          : std::string());
    {
      absl::MutexLock lock(&tls->mu_);
      tls->pair_ = *std::move(pair);
      tls->trust_ = std::move(trust);
      tls->cert_version_ = cert_version;
      tls->key_version_ = key_version;
      tls->ca_version_ = ca_version;
      tls->next_check_ = absl::Now() + absl::Seconds(1);
    }
    if (!tls->TakeSlot()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("at most ", kSlots, " HTTPS servers in one process"));
    }
    return tls;
  }

  ~Tls() {
    if (slot_ < kSlots) Slots()[slot_].store(nullptr);
  }

  Tls(const Tls&) = delete;
  Tls& operator=(const Tls&) = delete;

  // For MHD_OPTION_HTTPS_CERT_CALLBACK.
  gnutls_certificate_retrieve_function2* retrieve_function() const {
    return Functions()[slot_].retrieve;
  }

  // MHD_OPTION_NOTIFY_CONNECTION: a connection accepted or closed.
  void ConnectionStarted(void** context) {
    absl::MutexLock lock(&mu_);
    ++open_by_generation_[generation_];
    // The generation itself, plus one so that it is never null.
    *context = reinterpret_cast<void*>(static_cast<uintptr_t>(generation_ + 1));
  }
  void ConnectionClosed(void** context) {
    if (*context == nullptr) return;
    const uint64_t generation = reinterpret_cast<uintptr_t>(*context) - 1;
    *context = nullptr;
    absl::MutexLock lock(&mu_);
    auto it = open_by_generation_.find(generation);
    if (it != open_by_generation_.end() && --it->second == 0) {
      open_by_generation_.erase(it);
    }
    FreeUnusedLocked();
  }

 private:
  static constexpr size_t kSlots = 64;

  // GnuTLS's callbacks carry no pointer of ours (the session's user pointer
  // is libmicrohttpd's), so each server takes one of kSlots slots, each with
  // its own pair of functions.
  struct SlotFunctions {
    gnutls_certificate_retrieve_function2* retrieve;
    gnutls_certificate_verify_function* verify;
  };
  static std::atomic<Tls*>* Slots() {
    static std::atomic<Tls*> slots[kSlots] = {};
    return slots;
  }
  template <size_t N>
  static int RetrieveAt(gnutls_session_t session, const gnutls_datum_t*, int,
                        const gnutls_pk_algorithm_t*, int,
                        gnutls_pcert_st** pcert, unsigned int* pcert_length,
                        gnutls_privkey_t* key) {
    Tls* tls = Slots()[N].load(std::memory_order_acquire);
    if (tls == nullptr) return GNUTLS_E_INTERNAL_ERROR;
    return tls->Retrieve(session, pcert, pcert_length, key);
  }
  template <size_t N>
  static int VerifyAt(gnutls_session_t session) {
    Tls* tls = Slots()[N].load(std::memory_order_acquire);
    if (tls == nullptr) return GNUTLS_E_INTERNAL_ERROR;
    return tls->Verify(session);
  }
  template <size_t... N>
  static std::array<SlotFunctions, kSlots> MakeFunctions(
      std::index_sequence<N...>) {
    return {{{&RetrieveAt<N>, &VerifyAt<N>}...}};
  }
  static const std::array<SlotFunctions, kSlots>& Functions() {
    static const std::array<SlotFunctions, kSlots> functions =
        MakeFunctions(std::make_index_sequence<kSlots>());
    return functions;
  }

  explicit Tls(const HttpTlsOptions& options) : files_(options) {}

  bool TakeSlot() {
    for (size_t i = 0; i < kSlots; ++i) {
      Tls* expected = nullptr;
      if (Slots()[i].compare_exchange_strong(expected, this)) {
        slot_ = i;
        return true;
      }
    }
    return false;
  }

  // GnuTLS asks for the certificate to present (a server asks early in every
  // full handshake, before it would request the client's).
  int Retrieve(gnutls_session_t session, gnutls_pcert_st** pcert,
               unsigned int* pcert_length, gnutls_privkey_t* key) {
    CertPair* pair;
    {
      absl::MutexLock lock(&mu_);
      ReloadIfChangedLocked();
      pair = pair_.get();
    }
    // Kept alive for this connection; see the class comment.
    *pcert = pair->chain.data();
    *pcert_length = static_cast<unsigned int>(pair->chain.size());
    *key = pair->key;
    if (!files_.client_ca_file.empty()) {
      gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
      gnutls_session_set_verify_function(session, Functions()[slot_].verify);
    }
    return 0;
  }

  // Checks the client's certificate chain once GnuTLS has it; anything but 0
  // fails the handshake.
  int Verify(gnutls_session_t session) {
    std::shared_ptr<const TrustList> trust;
    {
      absl::MutexLock lock(&mu_);
      trust = trust_;
    }
    if (trust == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
    const std::string refused = CheckClientChain(session, *trust);
    if (refused.empty()) return 0;
    // A client's mistake, and anyone can make it: not a warning.
    HPO_LOG(DEBUG) << "https: refused a client certificate: " << refused;
    return GNUTLS_E_CERTIFICATE_ERROR;
  }

  void ReloadIfChangedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time now = absl::Now();
    if (now < next_check_) return;
    next_check_ = now + absl::Seconds(1);

    const FileVersion cert = VersionOf(files_.cert_file);
    const FileVersion key = VersionOf(files_.key_file);
    if ((cert != cert_version_ || key != key_version_) &&
        !(failed_pair_ && cert == failed_cert_version_ &&
          key == failed_key_version_)) {
      absl::StatusOr<std::unique_ptr<CertPair>> pair = LoadCertPair(files_);
      if (pair.ok()) {
        HPO_LOG(INFO) << "https: reloaded the certificate: "
                      << (*pair)->description << " (was " << pair_->description
                      << ")";
        retired_.emplace_back(generation_, std::move(pair_));
        pair_ = *std::move(pair);
        ++generation_;
        cert_version_ = cert;
        key_version_ = key;
        failed_pair_ = false;
        FreeUnusedLocked();
      } else {
        // Tried once per version of the files: a half-written file is
        // tried again when it changes.
        HPO_LOG(WARNING) << "https: keeping the certificate in use ("
                         << pair_->description
                         << "): " << pair.status().message();
        failed_pair_ = true;
        failed_cert_version_ = cert;
        failed_key_version_ = key;
      }
    }

    if (files_.client_ca_file.empty()) return;
    const FileVersion ca = VersionOf(files_.client_ca_file);
    if (ca != ca_version_ && !(failed_ca_ && ca == failed_ca_version_)) {
      absl::StatusOr<std::shared_ptr<const TrustList>> trust =
          LoadTrustList(files_.client_ca_file);
      if (trust.ok()) {
        HPO_LOG(INFO) << "https: reloaded the client CAs: "
                      << (*trust)->description;
        trust_ = *std::move(trust);
        ca_version_ = ca;
        failed_ca_ = false;
      } else {
        HPO_LOG(WARNING) << "https: keeping the client CAs in use: "
                         << trust.status().message();
        failed_ca_ = true;
        failed_ca_version_ = ca;
      }
    }
  }

  // Frees the replaced pairs no open connection can be using.
  void FreeUnusedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const uint64_t oldest_open = open_by_generation_.empty()
                                     ? generation_
                                     : open_by_generation_.begin()->first;
    retired_.erase(
        std::remove_if(retired_.begin(), retired_.end(),
                       [&](const auto& r) { return r.first < oldest_open; }),
        retired_.end());
  }

  const HttpTlsOptions files_;
  size_t slot_ = kSlots;

  absl::Mutex mu_;
  absl::Time next_check_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<CertPair> pair_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<const TrustList> trust_ ABSL_GUARDED_BY(mu_);
  // Of pair_: how many times it was replaced.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  // Open connections by the generation current when they were accepted.
  std::map<uint64_t, int> open_by_generation_ ABSL_GUARDED_BY(mu_);
  // Replaced pairs, with the generation each was replaced at the end of.
  std::vector<std::pair<uint64_t, std::unique_ptr<CertPair>>> retired_
      ABSL_GUARDED_BY(mu_);
  // The versions of the files loaded, and of those that last failed to load
  // (and were warned of).
  FileVersion cert_version_ ABSL_GUARDED_BY(mu_);
  FileVersion key_version_ ABSL_GUARDED_BY(mu_);
  FileVersion ca_version_ ABSL_GUARDED_BY(mu_);
  bool failed_pair_ ABSL_GUARDED_BY(mu_) = false;
  FileVersion failed_cert_version_ ABSL_GUARDED_BY(mu_);
  FileVersion failed_key_version_ ABSL_GUARDED_BY(mu_);
  bool failed_ca_ ABSL_GUARDED_BY(mu_) = false;
  FileVersion failed_ca_version_ ABSL_GUARDED_BY(mu_);
};

HttpServer::HttpServer(const HttpServerOptions& options, HttpHandler handler)
    : options_(options), handler_(std::move(handler)) {}

// One request's life on one connection: read, handed to the handler, answered.
struct HttpServer::Connection {
  HttpServer* server = nullptr;
  MHD_Connection* connection = nullptr;
  HttpRequest request;
  bool too_large = false;
  bool queued = false;   // A response went to MHD: nothing more to do.
  bool started = false;  // Handed to the handler (and counted in pending_).

  absl::Mutex mu;
  bool answered ABSL_GUARDED_BY(mu) = false;
  bool suspended ABSL_GUARDED_BY(mu) = false;
  HttpResponse response ABSL_GUARDED_BY(mu);
};

// The C callbacks, with access to HttpServer's insides.
struct HttpServerCallbacks {
  using Conn = HttpServer::Connection;

  static void Answer(const std::shared_ptr<Conn>& conn, HttpResponse response) {
    {
      HttpServer* server = conn->server;
      absl::MutexLock lock(&server->mu_);
      server->unanswered_.erase(conn);
    }
    absl::MutexLock lock(&conn->mu);
    if (conn->answered) return;  // Stop() answered it already.
    conn->answered = true;
    conn->response = std::move(response);
    if (conn->suspended) {
      conn->suspended = false;
      // MHD now calls Access again on a polling thread, which sends it.
      MHD_resume_connection(conn->connection);
    }
  }

  static MHD_Result Queue(Conn* conn, const HttpResponse& r) {
    MHD_Response* response = MHD_create_response_from_buffer(
        r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    if (!r.content_type.empty()) {
      MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                              r.content_type.c_str());
    }
    for (const auto& [name, value] : r.headers) {
      MHD_add_response_header(response, name.c_str(), value.c_str());
    }
    const MHD_Result result =
        MHD_queue_response(conn->connection, r.status, response);
    MHD_destroy_response(response);
    if (result == MHD_YES) conn->queued = true;
    return result;
  }

  static MHD_Result CollectQuery(void* cls, MHD_ValueKind kind, const char* key,
                                 size_t key_size, const char* value,
                                 size_t value_size) {
    auto* query =
        static_cast<std::vector<std::pair<std::string, std::string>>*>(cls);
    query->emplace_back(DecodeQueryPart(absl::string_view(key, key_size)),
                        value == nullptr ? std::string()
                                         : DecodeQueryPart(absl::string_view(
                                               value, value_size)));
    return MHD_YES;
  }

  static HttpResponse TooLarge(const HttpServer& server) {
    return PlainError(413, 8,
                      absl::StrCat("request body exceeds the limit of ",
                                   server.options_.max_body_bytes,
                                   " bytes (--max_body_bytes)"));
  }

  static MHD_Result Access(void* cls, MHD_Connection* connection,
                           const char* url, const char* method,
                           const char* version, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
    auto* server = static_cast<HttpServer*>(cls);
    if (*con_cls == nullptr) {
      // Headers are in; the body (if any) follows in later calls.
      auto conn = std::make_shared<Conn>();
      conn->server = server;
      conn->connection = connection;
      conn->request.method = method;
      conn->request.path = url;
      if (const char* type = MHD_lookup_connection_value(
              connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE)) {
        conn->request.content_type = type;
      }
      if (const char* authorization = MHD_lookup_connection_value(
              connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)) {
        conn->request.authorization = authorization;
      }
      conn->request.peer = PeerOf(connection);
      conn->request.tls = server->tls_ != nullptr;
      *con_cls = new std::shared_ptr<Conn>(conn);
      uint64_t length = 0;
      if (const char* header = MHD_lookup_connection_value(
              connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
          header != nullptr && absl::SimpleAtoi(header, &length) &&
          length > server->options_.max_body_bytes) {
        // Refused before reading it; MHD closes the connection after the
        // answer, since the unread body is still in the way.
        conn->too_large = true;
        return Queue(conn.get(), TooLarge(*server));
      }
      return MHD_YES;
    }
    const std::shared_ptr<Conn>& conn =
        *static_cast<std::shared_ptr<Conn>*>(*con_cls);
    if (conn->queued) {
      *upload_data_size = 0;  // Whatever still arrives is dropped.
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (!conn->too_large) {
        if (conn->request.body.size() + *upload_data_size >
            server->options_.max_body_bytes) {
          // A chunked body that turned out too large.
          conn->too_large = true;
          conn->request.body.clear();
        } else {
          conn->request.body.append(upload_data, *upload_data_size);
        }
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    // The whole request is in (or we were resumed with its answer).
    if (conn->too_large) return Queue(conn.get(), TooLarge(*server));
    if (!conn->started) {
      conn->started = true;
      {
        absl::MutexLock lock(&server->mu_);
        ++server->pending_;
        server->unanswered_.insert(conn);
      }
      MHD_get_connection_values_n(connection, MHD_GET_ARGUMENT_KIND,
                                  &CollectQuery, &conn->request.query);
      std::shared_ptr<Conn> keep = conn;
      server->handler_(conn->request, [keep](HttpResponse response) {
        Answer(keep, std::move(response));
      });
    }
    absl::MutexLock lock(&conn->mu);
    if (conn->answered) return Queue(conn.get(), conn->response);
    conn->suspended = true;
    MHD_suspend_connection(connection);
    return MHD_YES;
  }

  static void Completed(void* cls, MHD_Connection* connection, void** con_cls,
                        MHD_RequestTerminationCode code) {
    if (*con_cls == nullptr) return;
    auto* holder = static_cast<std::shared_ptr<Conn>*>(*con_cls);
    if ((*holder)->started) {
      HttpServer* server = (*holder)->server;
      absl::MutexLock lock(&server->mu_);
      --server->pending_;
    }
    delete holder;
    *con_cls = nullptr;
  }

  // Leaves paths and query strings as sent: the gateway must see "%2F" in a
  // path segment as part of the segment, not as a separator, and decodes
  // query parameters itself.
  static size_t Unescape(void* cls, MHD_Connection* connection, char* s) {
    return std::strlen(s);
  }

  // HTTPS only: keeps the generation of certificates a connection may use.
  static void Notify(void* cls, MHD_Connection* connection,
                     void** socket_context,
                     MHD_ConnectionNotificationCode code) {
    auto* tls = static_cast<HttpServer::Tls*>(cls);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      tls->ConnectionStarted(socket_context);
    } else {
      tls->ConnectionClosed(socket_context);
    }
  }

  static void Log(void* cls, const char* format, va_list args) {
    char buffer[512];
    std::vsnprintf(buffer, sizeof(buffer), format, args);
    std::string line(buffer);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    // MHD's words for any failed TLS handshake: plain HTTP on the HTTPS port,
    // a refused client certificate, a port scan. The client's doing, which
    // anyone can repeat at will: not a warning.
    if (absl::StartsWith(line, "Error: received handshake message out of")) {
      HPO_LOG(DEBUG) << "https: a TLS handshake failed";
      return;
    }
    HPO_LOG(WARNING) << "http: " << line;
  }
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(
    const HttpServerOptions& options, HttpHandler handler) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be in [0, 65535], got ", options.port));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(options.host.c_str(), nullptr, &hints, &found);
      rc != 0 || found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve host \"", options.host, "\": ", gai_strerror(rc)));
  }
  sockaddr_storage address{};
  std::memcpy(&address, found->ai_addr, found->ai_addrlen);
  freeaddrinfo(found);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
                       MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (address.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&address)->sin6_port =
        htons(static_cast<uint16_t>(options.port));
    flags |= MHD_USE_IPv6;
  } else {
    reinterpret_cast<sockaddr_in*>(&address)->sin_port =
        htons(static_cast<uint16_t>(options.port));
  }

  std::unique_ptr<HttpServer> server(
      new HttpServer(options, std::move(handler)));
  const HttpTlsOptions& tls = options.tls;
  if (!tls.cert_file.empty()) {
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS) ||
        !MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK)) {
      return absl::FailedPreconditionError(
          "HTTPS: this libmicrohttpd was built without TLS support (or "
          "without MHD_OPTION_HTTPS_CERT_CALLBACK)");
    }
    if (tls.key_file.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("a TLS certificate file (\"", tls.cert_file,
                       "\") needs its private key file too"));
    }
    absl::StatusOr<std::unique_ptr<Tls>> loaded = Tls::Create(tls);
    if (!loaded.ok()) return loaded.status();
    server->tls_ = *std::move(loaded);
    flags |= MHD_USE_TLS;
  } else if (!tls.key_file.empty() || !tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a TLS ", tls.key_file.empty() ? "client CA" : "private key",
        " file (\"", tls.key_file.empty() ? tls.client_ca_file : tls.key_file,
        "\") needs a certificate file too"));
  }
  // The options every server has, then those of HTTPS, if any.
  const auto start = [&](auto... more) {
    return MHD_start_daemon(
        flags, static_cast<uint16_t>(options.port), nullptr, nullptr,
        &HttpServerCallbacks::Access, server.get(),
        // First, so that MHD's own start-up messages come through it too.
        MHD_OPTION_EXTERNAL_LOGGER, &HttpServerCallbacks::Log, nullptr,
        MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&address),
        MHD_OPTION_THREAD_POOL_SIZE,
        static_cast<unsigned int>(std::max(1, options.threads)),
        MHD_OPTION_CONNECTION_LIMIT,
        static_cast<unsigned int>(options.max_connections),
        MHD_OPTION_CONNECTION_TIMEOUT,
        static_cast<unsigned int>(std::max(1, options.timeout_seconds)),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(64 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, &HttpServerCallbacks::Completed,
        server.get(), MHD_OPTION_UNESCAPE_CALLBACK,
        &HttpServerCallbacks::Unescape, nullptr, more..., MHD_OPTION_END);
  };
  if (server->tls_ != nullptr) {
    server->daemon_ =
        start(MHD_OPTION_HTTPS_CERT_CALLBACK, server->tls_->retrieve_function(),
              MHD_OPTION_NOTIFY_CONNECTION, &HttpServerCallbacks::Notify,
              server->tls_.get());
  } else {
    server->daemon_ = start();
  }
  if (server->daemon_ == nullptr) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for ", server->tls_ ? "HTTPS" : "HTTP",
                     " on ", options.host, ":", options.port,
                     " (in use, or not an address of this machine?)"));
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->daemon_, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : options.port;
  return server;
}

HttpServer::~HttpServer() { Stop(0); }

void HttpServer::Stop(int grace_seconds) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (daemon_ == nullptr) return;
  // New connections are refused from here on; open ones finish their request.
  MHD_quiesce_daemon(daemon_);
  const auto idle = +[](int* pending) { return *pending == 0; };
  std::set<std::shared_ptr<Connection>> unanswered;
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(idle, &pending_),
                         absl::Seconds(grace_seconds));
    unanswered = unanswered_;
  }
  if (!unanswered.empty()) {
    // MHD must not be stopped with suspended connections: answer them.
    HPO_LOG(WARNING) << "http: answering " << unanswered.size()
                     << " request(s) still running with 503";
    for (const auto& conn : unanswered) {
      HttpServerCallbacks::Answer(
          conn, PlainError(503, 14, "the server is shutting down"));
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(idle, &pending_), absl::Seconds(1));
  }
  MHD_stop_daemon(daemon_);
  daemon_ = nullptr;
}

}  // namespace hpo::rest
