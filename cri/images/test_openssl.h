// OpenSSL ownership and error helpers shared by the test servers (the TLS
// files of test_registry.cc, the token signer of test_token_server.cc).
#pragma once

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace peapod::images::testing {

// unique_ptr deleter calling an OpenSSL free function.
template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslFree<EVP_MD_CTX_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslFree<ECDSA_SIG_free>>;

// Throws "<who>: <what> failed" unless ok (test setup cannot go on).
inline void OpenSslCheck(bool ok, const char* who, const char* what) {
  if (!ok) throw std::runtime_error(std::string(who) + ": " + what + " failed");
}

}  // namespace peapod::images::testing
