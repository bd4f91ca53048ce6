"""metaframe-imu: the entry module. Torch-free: it only declares the manifest."""

from metaframe_registry import ModalityManifest, Recipe


def manifest() -> ModalityManifest:
    return ModalityManifest(
        name="imu",
        description="inertial sensor windows (accelerometer, gyroscope, optional magnetometer) as patch tokens",
        inputs=["file", "array", "tensor", "dataframe"],
        extensions=[".csv", ".parquet", ".pq", ".npy"],
        tokenizer="metaframe_imu.tokenizer:IMUTokenizer",
        reader="metaframe_imu.reader:read_imu",
        collate="metaframe_imu.collate:collate_imu",
        dataset="metaframe_imu.windows:dataset",
        examples="metaframe_imu.examples:write_examples",
        tokenizer_options={"in_channels": 6, "patch_len": 16, "projection": "channel"},
        reader_options={"groups": ["acc", "gyro"], "rate": 50.0, "acc_unit": "m/s2", "gyro_unit": "rad/s"},
        example_tokenizer_options={"in_channels": 6, "patch_len": 8, "projection": "channel"},
        example_reader_options={"rate": 50.0},
        info={
            "layout": "window [channels, steps]: acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z (+ mag_x, mag_y, mag_z)",
            "units": "output in SI: m/s^2, rad/s, magnetometer as read (e.g. uT)",
            "projections": ["channel", "joint"],
            "default_windows": "2.56 s at 50 Hz (128 steps), 50% overlap (UCI-HAR style)",
        },
        recipe=Recipe(
            lr=1e-2, pooling="cls+max+mean", batch_size=8,
            note="4 waveforms on 3 accelerometer axes + gyro noise: 0.293 / 0.308 vs 0.265 / 0.256 built-in; near chance (0.25) in 5 epochs (benchmarks/bench_recipes.py, 5 epochs, 200 train / 200 val, seed 0, whisper-tiny.en pre-trained and random; docs/benchmarks.md 'Plugin recipes')",
        ),
    )
