# A throw-away Go main module around katzenpost $KP_VERSION that builds with the module proxy
# reachable here (sourced by scripts/install-daemons and scripts/install-peers after daemons.sh;
# the reasons are in scripts/install-daemons).

# kp_wrapper_module DIR NAME: writes DIR/go.mod for module NAME requiring katzenpost $KP_VERSION,
# hpqc at $KP_HPQC_VERSION and inert stand-ins for the two refused signature libraries. The
# caller appends what it builds (a tool block) or adds its own package files.
kp_wrapper_module() {
  local w=$1 name=$2
  mkdir -p "$w"
  {
    printf 'module %s\n\ngo 1.26.2\n\nrequire %s %s\n\n' "$name" "$KP_MODULE" "$KP_VERSION"
    printf 'replace github.com/katzenpost/hpqc => github.com/katzenpost/hpqc %s\n' "$KP_HPQC_VERSION"
    printf 'replace github.com/katzenpost/falcon => ./stub/falcon\n'
    printf 'replace github.com/katzenpost/sqisign/bindings/go => ./stub/sqisign\n'
  } >"$w/go.mod"
  write_stub_modules "$w"
}

write_stub_modules() {   # $1 = directory of the wrapper module
  local w=$1 n
  mkdir -p "$w/stub/falcon/padded512" "$w/stub/falcon/padded1024" "$w/stub/sqisign/sqisign"
  printf 'module github.com/katzenpost/falcon\n\ngo 1.22\n' >"$w/stub/falcon/go.mod"
  for n in 512 1024; do
    local pk sk sig
    if [ $n = 512 ]; then pk=897 sk=1281 sig=666; else pk=1793 sk=2305 sig=1280; fi
    cat >"$w/stub/falcon/padded$n/stub.go" <<GO
// Package padded$n is an inert stand-in: the real module is not served by the proxy here.
package padded$n

import "errors"

const (
	PublicKeySize  = $pk
	PrivateKeySize = $sk
	SignatureSize  = $sig
)

type PublicKey [PublicKeySize]byte
type PrivateKey [PrivateKeySize]byte

var errUnavailable = errors.New("Falcon is not available in this kpthin test build")

func GenerateKey() (*PublicKey, *PrivateKey, error)             { return nil, nil, errUnavailable }
func Sign(*PrivateKey, []byte) ([]byte, error)                   { return nil, errUnavailable }
func Verify(pk *PublicKey, message []byte, signature []byte) bool { return false }
GO
  done
  printf 'module github.com/katzenpost/sqisign/bindings/go\n\ngo 1.22\n' >"$w/stub/sqisign/go.mod"
  cat >"$w/stub/sqisign/sqisign/stub.go" <<'GO'
// Package sqisign is an inert stand-in: the real module is not served by the proxy here.
package sqisign

import (
	"errors"
	"io"
)

const (
	PublicKeyBytes = 65
	SecretKeyBytes = 353
	SignatureBytes = 148
)

var errUnavailable = errors.New("SQIsign is not available in this kpthin test build")

func KeyGen(io.Reader) ([]byte, []byte, error)                { return nil, nil, errUnavailable }
func Sign(io.Reader, []byte, []byte) ([]byte, error)           { return nil, errUnavailable }
func Verify(signature, publicKey, message []byte) (bool, error) { return false, errUnavailable }
GO
}

