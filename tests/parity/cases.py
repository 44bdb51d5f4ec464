"""The parity cases: each .nas file of tests/parity with the settings of its
network, which ref_nets.build() turns into the PyTorch reference.  Keep these
in step with the .nas files; check_names.py verifies names and shapes against
`sharpc dump --ir`.

Fields: nas (file name in tests/parity), kind ('search' | 'genotype'), input
(C, H, W), classes, C, layers, reduce_at (None = layers/3, 2*layers/3),
primitives + weighting + steps + concat (search), genotype + optable +
auxiliary + auxiliary_at (genotype), C_mid, fr_key_padding (False = DARTS
FactorizedReduce for preprocess0 after a reduction), batch (images per test).
"""

_SEARCH_SMALL = dict(kind="search", classes=10, C=4, layers=5, primitives="PRIMITIVES", steps=4, batch=8)
_DARTS_V2_SMALL = dict(kind="genotype", classes=10, C=6, layers=5, genotype="DARTS_V2", optable="DARTS_OPS")
_SSC_SMALL = dict(kind="genotype", classes=10, C=4, layers=5, genotype="SHARPSEPCONV_DARTS", batch=2)
_TINY = dict(kind="search", input=(3, 8, 8), classes=4, C=4, layers=3, reduce_at=[1], primitives="TINY",
             steps=2, concat=[2, 3], batch=4)

CASES = {
    "tiny_max_w": dict(_TINY, nas="tiny_max_w.nas", weighting="max_w"),
    "tiny_scalar": dict(_TINY, nas="tiny_scalar.nas", weighting="scalar"),
    "sharp_search_max_w_9": dict(_SEARCH_SMALL, nas="sharp_search_max_w_9.nas", input=(3, 9, 9), weighting="max_w"),
    "sharp_search_max_w_8": dict(_SEARCH_SMALL, nas="sharp_search_max_w_8.nas", input=(3, 8, 8), weighting="max_w"),
    "sharp_search_scalar_9": dict(_SEARCH_SMALL, nas="sharp_search_scalar_9.nas", input=(3, 9, 9), weighting="scalar"),
    "sharp_search_scalar_8": dict(_SEARCH_SMALL, nas="sharp_search_scalar_8.nas", input=(3, 8, 8), weighting="scalar"),
    "darts_search_8": dict(_SEARCH_SMALL, nas="darts_search_8.nas", input=(3, 8, 8), weighting="scalar",
                           primitives="DARTS_PRIMITIVES_ORIGINAL", fr_key_padding=False),
    "darts_v2_aux_32": dict(_DARTS_V2_SMALL, nas="darts_v2_aux_32.nas", input=(3, 32, 32), auxiliary=True,
                            auxiliary_at=3, batch=8),
    "darts_v2_aux_33": dict(_DARTS_V2_SMALL, nas="darts_v2_aux_33.nas", input=(3, 33, 33), auxiliary=True,
                            auxiliary_at=3, batch=8),
    "darts_v2_11": dict(_DARTS_V2_SMALL, nas="darts_v2_11.nas", input=(3, 11, 11), batch=2),
    "ssc_darts_9": dict(_SSC_SMALL, nas="ssc_darts_9.nas", input=(3, 9, 9)),
    "ssc_darts_8": dict(_SSC_SMALL, nas="ssc_darts_8.nas", input=(3, 8, 8)),
    "all_ops_sharp_9": dict(kind="genotype", nas="all_ops_sharp_9.nas", input=(3, 9, 9), classes=10, C=4,
                            layers=3, reduce_at=[1], C_mid=8, genotype="ALL_SHARP_OPS", batch=2),
    "all_ops_darts_8": dict(kind="genotype", nas="all_ops_darts_8.nas", input=(3, 8, 8), classes=10, C=4,
                            layers=3, reduce_at=[1], genotype="ALL_DARTS_OPS", fr_key_padding=False, batch=2),
}
