"""warm_up: runs every draft's compiler path and the mask path on built-in schemas."""

import tokensieve as ts
from tokensieve.schema import _meta


def test_warm_up_without_a_vocabulary_builds_the_static_metaschemas():
    _meta._cache.clear()
    ts.warm_up()
    assert set(_meta._cache) == {2019, 2020}


def test_warm_up_masks_along_its_document_on_a_byte_vocabulary():
    vocab = ts.Vocabulary.from_tokens([bytes([b]) for b in range(256)] + [b"<eos>"], eos_token_ids=[256])
    ts.warm_up(vocab)  # raises if its own document were refused: the schemas and the document must agree
    assert "warm_up" in ts.__all__
