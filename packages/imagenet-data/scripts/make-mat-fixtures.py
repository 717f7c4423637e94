"""Writes the MAT-file test fixtures with SciPy (an independent MAT-file writer):

- test/fixtures/devkit-meta.mat: shaped like the ILSVRC-2012 devkit's
  data/meta.mat (a compressed 'synsets' struct array with its eight fields),
  with ILSVRC2012_ID k -> the k-th wnid of the sorted list, reversed, for the
  1000 leaves, and three non-leaf synsets with ids 1001..1003.
- test/fixtures/mat-kinds.mat: uncompressed, one variable of each kind the
  reader supports (cell, int16 matrix, two-row char array, struct array).

Run with Debian's python3-scipy: /usr/bin/python3 scripts/make-mat-fixtures.py
"""
import os
import numpy as np
import scipy.io as sio

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, '..', 'test', 'fixtures')
mapping = os.path.join(here, '..', '..', '..', '..', 'shared', 'data', 'LOC_synset_mapping.txt')
lines = open(mapping).read().strip().split('\n')
wnids = [l.split(' : ')[0] for l in lines]
names = [l.split(' : ')[1] for l in lines]

fields = ['ILSVRC2012_ID', 'WNID', 'words', 'gloss', 'num_children', 'children',
          'wordnet_height', 'num_train_images']
rows = []
for k, i in enumerate(reversed(range(1000))):
    rows.append([np.array([[k + 1.0]]), wnids[i], names[i], 'a ' + names[i].split(',')[0],
                 np.array([[0.0]]), np.zeros((1, 0)), np.array([[0.0]]), np.array([[1300.0]])])
for j, (wnid, children) in enumerate([('n00001740', [1002, 1003]), ('n00021939', [1, 2]),
                                      ('n00002684', [3])]):
    rows.append([np.array([[1001.0 + j]]), wnid, 'internal %d' % j, 'a non-leaf synset',
                 np.array([[float(len(children))]]), np.array([children], dtype=np.float64),
                 np.array([[3.0]]), np.array([[0.0]])])
synsets = np.zeros((len(rows), 1), dtype=[(f, 'O') for f in fields])
for i, row in enumerate(rows):
    for f, v in zip(fields, row):
        synsets[i, 0][f] = v
sio.savemat(os.path.join(fixtures, 'devkit-meta.mat'), {'synsets': synsets}, do_compression=True)

cell = np.empty((1, 2), dtype=object)
cell[0, 0] = 'ab'
cell[0, 1] = np.array([[7.5]])
record = np.zeros((1, 2), dtype=[('x', 'O'), ('name', 'O')])
record[0, 0]['x'] = np.array([[1.0]])
record[0, 0]['name'] = 'first'
record[0, 1]['x'] = np.array([[2.0, 3.0]])
record[0, 1]['name'] = 'second'
sio.savemat(os.path.join(fixtures, 'mat-kinds.mat'), {
    'cell': cell,
    'int16': np.array([[1, 2, 3], [4, 5, -6]], dtype=np.int16),
    'chars': np.array(['abc', 'xyz']),
    'record': record,
}, do_compression=False)
