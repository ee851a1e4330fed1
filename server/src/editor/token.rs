//! Short-lived signed tokens that let a non-browser Yjs client join one document
//! (`/yjs/{doc}?token=…`): `base64url(claims).base64url(HMAC-SHA256(secret, claims))`.

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub u: i64,
    /// Project id.
    pub p: i64,
    /// Document id.
    pub d: u64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("bad token signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; this cannot fail.
    <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

pub fn sign(secret: &[u8], claims: &Claims) -> String {
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    )
}

pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Claims, TokenError> {
    let (payload, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| TokenError::Malformed)?;
    let mut m = mac(secret);
    m.update(payload.as_bytes());
    // Constant-time comparison.
    m.verify_slice(&sig).map_err(|_| TokenError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
    if claims.exp <= now {
        return Err(TokenError::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_verifies_and_refuses_tampering() {
        let claims = Claims {
            u: 1,
            p: 2,
            d: 3,
            exp: 1000,
        };
        let token = sign(b"secret", &claims);
        assert_eq!(verify(b"secret", &token, 999), Ok(claims.clone()));
        assert_eq!(verify(b"secret", &token, 1000), Err(TokenError::Expired));
        assert_eq!(verify(b"other", &token, 0), Err(TokenError::BadSignature));
        let forged = sign(b"secret", &Claims { d: 4, ..claims });
        let (_, sig) = forged.split_once('.').expect("dot");
        let (payload, _) = token.split_once('.').expect("dot");
        assert_eq!(
            verify(b"secret", &format!("{payload}.{sig}"), 0),
            Err(TokenError::BadSignature)
        );
        for bad in ["", "abc", "a.b.c", "!!.!!"] {
            assert!(verify(b"secret", bad, 0).is_err());
        }
    }
}
