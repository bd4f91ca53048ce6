"""Small example X-rays (a 12-bit MONOCHROME1 DICOM with rescale, a 16-bit PNG) for the conformance kit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_dicom(path: Path, stored: np.ndarray, photometric: str = "MONOCHROME2", slope: float = 1.0,
                intercept: float = 0.0, bits_stored: int = 12) -> Path:
    """Write a minimal uncompressed single-frame DICOM (Secondary Capture) of unsigned ``stored`` values."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, bits_stored, bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
    ds.PixelData = stored.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_examples(directory: Path) -> list[Path]:
    from PIL import Image

    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    dcm = write_dicom(directory / "chest.dcm", rng.integers(0, 4096, size=(40, 32)), "MONOCHROME1", 1.0, -1024.0)
    png = directory / "chest_16bit.png"
    Image.fromarray(rng.integers(0, 65536, size=(32, 32)).astype(np.uint16)).save(png)
    return [dcm, png]
