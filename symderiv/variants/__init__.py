"""Exam variants: one exercise, one seeded variant per student, each derived, verified and documented.

The pipeline of ``symderiv variants``, one module a stage:

* :mod:`~symderiv.variants.rules` reads the spec's ``[variants]`` table: which fields vary over which
  grid, what is asked, the tolerance, the constraints a variant must meet;
* :mod:`~symderiv.variants.sample` draws candidates from a seeded generator and writes each as a full
  spec (TOML text);
* :mod:`~symderiv.variants.screen` judges a candidate: a forward-only derivation first (cheap), the
  full one for the survivors, the teaching lints as predicates, the asked answers' sizes;
* :mod:`~symderiv.variants.answers` lists the asked values with their tolerances (CSV, JSON);
* :mod:`~symderiv.variants.moodle` writes them as Moodle numerical questions (XML);
* :mod:`~symderiv.variants.mark` draws the variant's number, seed and QR code on every page;
* :mod:`~symderiv.variants.build` renders and compiles one variant's documents (run by a worker);
* :mod:`~symderiv.variants.jobs` runs the screening and the builds on a process pool or a Dask
  cluster, in an order that does not depend on the number of workers;
* :mod:`~symderiv.variants.run` ties them together and writes the files.
"""
