import numpy as np
import pytest

from tfq_ssl.checks import check_positive_int
from tfq_ssl.errors import ConfigError


@pytest.mark.parametrize("value", [1, 7])
def test_positive_int_is_returned(value):
    assert check_positive_int("width", value) == value


@pytest.mark.parametrize("value", [0, -2, 1.0, True, "3", None, np.int64(3)])
def test_other_values_are_refused_naming_the_argument(value):
    with pytest.raises(ValueError, match=r"width must be an integer >= 1, got "):
        check_positive_int("width", value)


def test_options_keep_each_callers_rule():
    assert check_positive_int("shots", None, none_means="exact") is None
    with pytest.raises(ValueError, match=r"shots must be None \(exact\) or an integer >= 1"):
        check_positive_int("shots", 0, none_means="exact")
    with pytest.raises(ValueError, match="block_qubits must be an integer >= 2, got 1"):
        check_positive_int("block_qubits", 1, minimum=2)
    assert check_positive_int("shots", np.int32(5), numpy_ints=True) == 5
    with pytest.raises(ValueError, match="shots"):
        check_positive_int("shots", np.bool_(True), numpy_ints=True)


def test_check_one_of_names_the_choices_and_the_value():
    from tfq_ssl.checks import check_one_of
    check_one_of("engine", "tfq", ("tfq", "statevector"))
    with pytest.raises(ConfigError, match=r"engine must be one of \('tfq', 'statevector'\), got 'gpu'"):
        check_one_of("engine", "gpu", ["tfq", "statevector"])
