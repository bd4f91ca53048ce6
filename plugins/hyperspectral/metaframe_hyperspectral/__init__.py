"""metaframe-hyperspectral: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest

# folders are scanned for these; an ENVI data file (.img, .raw, ...) is read through its .hdr, so it is
# not listed (a folder would otherwise yield every ENVI image twice), but naming it directly works.
EXTENSIONS = [".mat", ".npy", ".npz", ".hdr"]


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="hyperspectral",
        description="hyperspectral cubes: per-band tokens of pixel neighbourhoods, or spatial patches",
        inputs=["file", "array", "tensor"],
        extensions=EXTENSIONS,
        tokenizer="metaframe_hyperspectral.tokenizer:SpectralTokenizer",
        reader="metaframe_hyperspectral.reader:read_cube",
        dataset="metaframe_hyperspectral.neighbourhoods:labelled_neighbourhoods",
        examples="metaframe_hyperspectral.examples:write_examples",
        tokenizer_options={"num_bands": 200, "mode": "band", "neighbourhood": 7, "band_group": 1, "normalize": "minmax"},
        reader_options={},
        example_tokenizer_options={"num_bands": 10, "mode": "band", "neighbourhood": 5, "band_group": 3},
        example_reader_options={"size": 5},
        info={
            "sample": "[bands, H, W] float32 (files and arrays are [H, W, bands])",
            "tokens_per_sample": "band mode: ceil(bands / band_group) = 200 for Indian Pines; spatial: (H / patch)^2",
            "formats": "MATLAB .mat (scipy.io), .npy / .npz, ENVI .hdr + data (bsq / bil / bip, via spectral)",
            "dataset": "k x k neighbourhoods around labelled pixels (0 = unlabelled, class c -> c - 1), reflect-padded",
            "normalize": "per band, fitted on training data: minmax | standard | none",
        },
    )
