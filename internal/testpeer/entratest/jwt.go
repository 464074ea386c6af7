package entratest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

var b64 = base64.RawURLEncoding

// Claims are a JWT's claims. Numbers decode as float64.
type Claims map[string]any

func (c Claims) str(k string) string {
	s, _ := c[k].(string)
	return s
}

// aud is the audience claim, a string or an array of strings.
func (c Claims) aud() []string {
	switch v := c["aud"].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func (c Claims) num(k string) (int64, bool) {
	switch v := c[k].(type) {
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case int64:
		return v, true
	case int:
		return int64(v), true
	}
	return 0, false
}

// signRS256 signs claims with an RSA key as a compact JWT, with kid and any extra header fields.
func signRS256(key *rsa.PrivateKey, kid string, extra map[string]any, claims Claims) string {
	h := map[string]any{"alg": "RS256", "typ": "JWT"}
	if kid != "" {
		h["kid"] = kid
	}
	for k, v := range extra {
		h[k] = v
	}
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(claims)
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

// jwtHeader is what the verifier reads of a JWT header.
type jwtHeader struct {
	Alg     string `json:"alg"`
	Kid     string `json:"kid"`
	X5t     string `json:"x5t"`
	X5tS256 string `json:"x5t#S256"`
}

// parseJWT splits and decodes a compact JWT without checking its signature.
func parseJWT(tok string) (h jwtHeader, c Claims, signed, sig []byte, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return h, nil, nil, nil, errors.New("not a compact JWS")
	}
	hb, err1 := b64.DecodeString(parts[0])
	cb, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return h, nil, nil, nil, errors.New("bad base64url")
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, nil, errors.New("bad header")
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return h, nil, nil, nil, errors.New("bad claims")
	}
	return h, c, []byte(parts[0] + "." + parts[1]), sig, nil
}

// verifySig checks a JWS signature of alg RS256, PS256 or ES256 with pub.
func verifySig(alg string, pub crypto.PublicKey, signed, sig []byte) error {
	sum := sha256.Sum256(signed)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256":
			return rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig)
		case "PS256":
			return rsa.VerifyPSS(k, crypto.SHA256, sum[:], sig, nil)
		}
	case *ecdsa.PublicKey:
		if alg == "ES256" && len(sig) == 64 {
			r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
			if ecdsa.Verify(k, sum[:], r, s) {
				return nil
			}
			return errors.New("bad signature")
		}
	}
	return fmt.Errorf("algorithm %q does not fit the key", alg)
}

// jwk is one RSA key of a JWKS.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func rsaJWK(kid string, pub *rsa.PublicKey) jwk {
	return jwk{Kty: "RSA", Use: "sig", Kid: kid, Alg: "RS256",
		N: b64.EncodeToString(pub.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

func (k jwk) public() (*rsa.PublicKey, error) {
	if k.Kty != "RSA" {
		return nil, fmt.Errorf("key type %q", k.Kty)
	}
	n, err1 := b64.DecodeString(k.N)
	e, err2 := b64.DecodeString(k.E)
	if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
		return nil, errors.New("bad RSA key")
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
}

var randReader = rand.Reader
