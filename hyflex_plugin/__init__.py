"""hyflex: HyFlexPIM (hybrid SLC/MLC RRAM processing-in-memory, ISCA 2025) for AccelForge.

Pipeline, one sub-package per stage:

- ``redistribution``  pretrained transformer -> SVD, fine-tune, importance |dL/dsigma| (torch, [ml] extra)
- ``partition``       the partition file: which rank components go to SLC and which to MLC
- ``costmodels``      hwcomponents models of the RRAM arrays, ADC, drivers, digital PIM, SFU ...
- ``architecture``    architecture specs instantiated from ``arch_specs/``
- ``workloads``       transformer layers as Einsums
- ``evaluation``      AccelForge evaluation: energy, latency, throughput, area
- ``comparison``      published PIM designs, baselines, the reproduction report
- ``export``          classic Timeloop v0.4 / Accelergy files

The hardware side imports without torch.
"""

__version__ = "0.1.0"
