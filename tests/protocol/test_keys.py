"""Keys: a stolen laptop cannot sign, and a signature binds exactly one key to exactly one byte string."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from protocol import sealed
from protocol.errors import BadPassphrase, BadSignature, ConfigError
from protocol.keys import KeyPair, short_id, verify

PASSPHRASE = "村委会 2024 春"


@pytest.fixture
def key() -> KeyPair:
    return KeyPair.from_seed(b"tests/keys")


def test_save_writes_the_key_file_readable_by_its_owner_only(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "node" / "key.pem"
    key.save(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_tightens_the_mode_of_a_file_it_replaces(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(b"old")
    path.chmod(0o644)
    key.save(path, PASSPHRASE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_saved_key_is_encrypted_under_the_passphrase(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key.save(path, PASSPHRASE)
    pem = path.read_bytes()
    assert pem.startswith(sealed.ARMOR_BEGIN)
    assert key.raw() not in pem and key.pem().splitlines()[1] not in pem


def test_a_key_file_is_sealed_with_scrypt_at_the_written_down_parameters(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key.save(path, PASSPHRASE)
    inner = sealed.unarmor(path.read_bytes())
    assert inner is not None and inner.startswith(sealed.MAGIC)
    assert tuple(inner[len(sealed.MAGIC):len(sealed.MAGIC) + 4]) == (1, 15, 8, 1)  # v1, n = 2**15, r = 8, p = 1


def test_a_pbkdf2_key_file_of_0_1_0_opens_and_is_rewritten_under_scrypt(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    private = serialization.load_pem_private_key(key.pem(), None)
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.BestAvailableEncryption(PASSPHRASE.encode())))
    assert KeyPair.load(path, PASSPHRASE).public == key.public
    assert path.read_bytes().startswith(sealed.ARMOR_BEGIN)
    assert KeyPair.load(path, PASSPHRASE).public == key.public
    with pytest.raises(BadPassphrase):
        KeyPair.load(path, "a wrong passphrase")


@pytest.mark.parametrize("empty", ["", "   ", "short"])
def test_an_empty_or_short_passphrase_is_refused_and_writes_nothing(key: KeyPair, tmp_path: Path, empty: str) -> None:
    path = tmp_path / "key.pem"
    with pytest.raises(ConfigError):
        key.save(path, empty)
    assert not path.exists()
    key.save(path, PASSPHRASE)
    with pytest.raises(ConfigError):
        KeyPair.load(path, empty)


def test_key_loads_back_with_the_right_passphrase(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key.save(path, PASSPHRASE)
    loaded = KeyPair.load(path, PASSPHRASE)
    assert loaded.public == key.public
    verify(key.public, loaded.sign(b"roll call"), b"roll call")


def test_wrong_passphrase_is_refused(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key.save(path, PASSPHRASE)
    with pytest.raises(BadPassphrase):
        KeyPair.load(path, "a good guess")


def test_encrypted_key_without_a_passphrase_is_refused(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    key.save(path, PASSPHRASE)
    with pytest.raises(BadPassphrase):
        KeyPair.load(path, None)


def test_hub_key_saved_without_passphrase_loads_without_one(key: KeyPair, tmp_path: Path) -> None:
    path = tmp_path / "hub.pem"
    key.save(path, None)
    assert b"ENCRYPTED" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert KeyPair.load(path, None).public == key.public


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        KeyPair.load(tmp_path / "absent.pem", PASSPHRASE)


def test_a_file_that_is_not_a_key_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(b"not a key at all")
    with pytest.raises(BadPassphrase):
        KeyPair.load(path, PASSPHRASE)


def test_a_key_that_is_not_ed25519_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    other = ec.derive_private_key(7, ec.SECP256R1())
    path.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(ConfigError):
        KeyPair.load(path, None)


def test_verify_accepts_the_signers_signature(key: KeyPair) -> None:
    verify(key.public, key.sign(b"changeset body"), b"changeset body")


def test_verify_rejects_a_signature_by_another_key(key: KeyPair) -> None:
    other = KeyPair.from_seed(b"tests/keys/other")
    with pytest.raises(BadSignature):
        verify(key.public, other.sign(b"changeset body"), b"changeset body")


def test_verify_rejects_altered_bytes(key: KeyPair) -> None:
    with pytest.raises(BadSignature):
        verify(key.public, key.sign(b"monthly_pay=3800"), b"monthly_pay=8300")


@pytest.mark.parametrize(("author_len", "sig_len"), [(31, 64), (33, 64), (32, 63), (32, 65), (0, 0)])
def test_verify_rejects_keys_and_signatures_of_the_wrong_length(key: KeyPair, author_len: int, sig_len: int) -> None:
    sig = (key.sign(b"x") * 2)[:sig_len]
    with pytest.raises(BadSignature):
        verify((key.public * 2)[:author_len], sig, b"x")


def test_short_id_is_eight_readable_characters_and_stable(key: KeyPair) -> None:
    assert short_id(bytes(32)) == "mzuhvlpy"  # pinned: operators read these aloud; they must not change
    assert key.short == short_id(key.public) == short_id(bytes(key.public))
    assert len(key.short) == 8 and key.short.isalnum() and key.short.islower()


def test_short_ids_differ_between_keys(key: KeyPair) -> None:
    assert KeyPair.from_seed(b"tests/keys/other").short != key.short


def test_from_seed_is_deterministic_and_generate_is_not() -> None:
    assert KeyPair.from_seed(b"s").public == KeyPair.from_seed(b"s").public
    assert KeyPair.generate().public != KeyPair.generate().public
