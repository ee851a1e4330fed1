//! Secrets at rest: ChaCha20-Poly1305 with a server key, bound to where the secret lives.
//!
//! The key is 32 bytes from `TANDEM_SECRETS_KEY` (64 hex digits) or, without it, from
//! `<data-dir>/secrets.key`, made on first start with mode 0600. A sealed value is
//! `version (1) ‖ nonce (12) ‖ ciphertext+tag`; the associated data names the project, the
//! environment and the variable, so a row copied to another place does not open.

use std::{io::Write, path::Path};

use chacha20poly1305::{
    ChaCha20Poly1305, Key, KeyInit, Nonce,
    aead::{Aead, Payload},
};

/// The format byte of sealed values written now.
const VERSION: u8 = 1;
const NONCE: usize = 12;
/// The key file inside the data folder.
pub const KEY_FILE: &str = "secrets.key";

#[derive(Debug, thiserror::Error)]
pub enum CryptError {
    #[error("TANDEM_SECRETS_KEY must be 64 hexadecimal digits (32 bytes)")]
    BadKey,
    #[error("the secrets key file {0} is not 32 bytes")]
    BadKeyFile(String),
    #[error("cannot read or write the secrets key: {0}")]
    Io(#[from] std::io::Error),
    #[error("a stored secret does not open with this server's key")]
    Open,
    #[error("a secret could not be sealed")]
    Seal,
}

/// Where a secret lives: sealed with it, needed to open it.
pub struct Place<'a> {
    pub project: i64,
    pub environment: i64,
    pub name: &'a str,
}

impl Place<'_> {
    fn aad(&self) -> Vec<u8> {
        format!(
            "tandem-secret\0{}\0{}\0{}",
            self.project, self.environment, self.name
        )
        .into_bytes()
    }
}

#[derive(Clone)]
pub struct SecretKey(ChaCha20Poly1305);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        Self(ChaCha20Poly1305::new(Key::from_slice(bytes)))
    }

    /// The key from `TANDEM_SECRETS_KEY` when given, else the data folder's key file, made
    /// (0600, 32 random bytes) when there is none. Blocking file I/O: called once at start.
    pub fn load(from_env: Option<&str>, data_dir: &Path) -> Result<Self, CryptError> {
        if let Some(hex) = from_env.map(str::trim).filter(|h| !h.is_empty()) {
            return parse_hex(hex).map(|b| Self::from_bytes(&b));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .try_into()
                    .map_err(|_| CryptError::BadKeyFile(path.display().to_string()))?;
                Ok(Self::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                // On a first start the data folder may not exist yet.
                std::fs::create_dir_all(data_dir)?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path)?;
                file.write_all(&key)?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "made a new key for project secrets");
                Ok(Self::from_bytes(&key))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub fn seal(&self, place: &Place<'_>, plain: &str) -> Result<Vec<u8>, CryptError> {
        let nonce: [u8; NONCE] = rand::random();
        let aad = place.aad();
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| CryptError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, place: &Place<'_>, sealed: &[u8]) -> Result<String, CryptError> {
        let (&version, rest) = sealed.split_first().ok_or(CryptError::Open)?;
        if version != VERSION || rest.len() < NONCE {
            return Err(CryptError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE);
        let aad = place.aad();
        let plain = self
            .0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptError::Open)?;
        String::from_utf8(plain).map_err(|_| CryptError::Open)
    }
}

fn parse_hex(hex: &str) -> Result<[u8; 32], CryptError> {
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(CryptError::BadKey);
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| CryptError::BadKey)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str) -> Place<'_> {
        Place {
            project: 1,
            environment: 2,
            name,
        }
    }

    #[test]
    fn sealed_values_open_only_in_their_place_and_with_their_key() {
        let key = SecretKey::from_bytes(&[7; 32]);
        let sealed = key.seal(&place("TOKEN"), "hunter2-secret").expect("sealed");
        assert!(
            !sealed.windows(b"hunter2".len()).any(|w| w == b"hunter2"),
            "the plaintext is not in the sealed bytes"
        );
        assert_eq!(
            key.open(&place("TOKEN"), &sealed).expect("opens"),
            "hunter2-secret"
        );
        // Two seals of one value differ (a fresh nonce each).
        assert_ne!(
            sealed,
            key.seal(&place("TOKEN"), "hunter2-secret").expect("sealed")
        );
        assert!(key.open(&place("OTHER"), &sealed).is_err());
        let moved = Place {
            project: 9,
            ..place("TOKEN")
        };
        assert!(key.open(&moved, &sealed).is_err());
        assert!(
            SecretKey::from_bytes(&[8; 32])
                .open(&place("TOKEN"), &sealed)
                .is_err()
        );
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(key.open(&place("TOKEN"), &flipped).is_err());
        assert!(key.open(&place("TOKEN"), &[]).is_err());
        assert!(key.open(&place("TOKEN"), &[1, 2, 3]).is_err());
    }

    #[test]
    fn the_key_comes_from_the_environment_or_a_private_file() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(matches!(
            SecretKey::load(Some("abc"), dir.path()),
            Err(CryptError::BadKey)
        ));
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = SecretKey::load(Some(hex), dir.path()).expect("hex key");
        let sealed = a.seal(&place("X"), "value").expect("sealed");
        assert_eq!(
            SecretKey::load(Some(&hex.to_uppercase()), dir.path())
                .expect("same key")
                .open(&place("X"), &sealed)
                .expect("opens"),
            "value"
        );
        assert!(
            !dir.path().join(KEY_FILE).exists(),
            "no file with a key given"
        );
        // Without one: a file is made once (its folder too), private, and used again.
        let fresh = dir.path().join("new-data");
        SecretKey::load(None, &fresh).expect("made in a folder that did not exist");
        assert!(fresh.join(KEY_FILE).exists());
        let made = SecretKey::load(None, dir.path()).expect("made");
        let sealed = made.seal(&place("X"), "value").expect("sealed");
        let path = dir.path().join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = SecretKey::load(None, dir.path()).expect("read");
        assert_eq!(again.open(&place("X"), &sealed).expect("opens"), "value");
        std::fs::write(&path, b"short").expect("write");
        assert!(matches!(
            SecretKey::load(None, dir.path()),
            Err(CryptError::BadKeyFile(_))
        ));
    }
}
