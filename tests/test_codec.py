"""What crosses between the sandboxed kernel and the judge: plain data, never a pickle."""
import io

import numpy as np
import pytest
import tensorflow as tf

from utils.grading.codec import Decoder, Encoder, Undecodable, dumps, loads


def round_trip(value):
    kept = []
    data = loads(dumps({"v": Encoder(lambda v: kept.append(v) or len(kept), "handle")(value)}))
    return Decoder(handle=lambda i, info: ("handle", i))(data["v"]), kept


@pytest.mark.parametrize("value", [tf.TensorShape([None, 28, 28, 1]), tf.TensorShape(None),
                                   tf.TensorShape([])])
def test_tensor_shapes_cross_as_shapes(value):
    back, kept = round_trip(value)
    assert isinstance(back, tf.TensorShape) and back.rank == value.rank
    assert value.rank is None or back.as_list() == value.as_list()
    assert not kept


def test_arrays_numbers_and_containers_cross_as_they_are():
    value = {"a": (np.arange(6, dtype=np.float32).reshape(2, 3), np.int64(7)), "b": [1.5, None]}
    back, _ = round_trip(value)
    np.testing.assert_array_equal(back["a"][0], value["a"][0])
    assert back["a"][0].dtype == np.float32 and back["a"][1] == 7 and back["b"] == [1.5, None]


def test_objects_that_are_not_data_stay_behind_as_handles():
    back, kept = round_trip(lambda x: x)
    assert back[0] == "handle" and callable(kept[0])


@pytest.mark.parametrize("data", [
    {"$": "shape", "v": [3, "x"]}, {"$": "shape", "v": [-1]}, {"$": "shape", "v": "abc"},
    ["untagged"], {"no": "tag"},
])
def test_malformed_data_is_refused(data):
    with pytest.raises(Undecodable):
        Decoder()(data)


def test_a_pickled_array_is_refused():
    import base64

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(Undecodable):
        Decoder()({"$": "array", "npy": base64.b64encode(buffer.getvalue()).decode()})
