"""Writes small CIFAR-10 and CIFAR-100 archives in the official layouts, and
what a reader must find in them, for test/cifar.test.ts:

- test/fixtures/cifar/cifar-10-python.tar.gz: cifar-10-batches-py/ with
  data_batch_1 … data_batch_5 (4 images each, every class twice in all), test_batch (3 images),
  batches.meta and readme.html. The batches are pickled as the official ones
  are (Python 2's cPickle, protocol 2: keys and strings as py2 `str`, the
  array through numpy.core.multiarray._reconstruct); each pickle is checked
  by loading it back with Python's own pickle, as torchvision does
  (encoding='latin1') and as the CIFAR page says (encoding='bytes').
- cifar-10-python-protocol4.tar.gz: the same batches pickled by Python 3
  (protocol 4, numpy 2's numpy._core globals), as a user may re-pickle them.
- cifar-10-binary.tar.gz: cifar-10-batches-bin/ with data_batch_N.bin and
  test_batch.bin (1 label byte + 3072 pixel bytes per record) and
  batches.meta.txt.
- cifar-100-python.tar.gz: cifar-100-python/ with train (6 images), test
  (3 images), meta (fine and coarse label names).
- cifar-100-binary.tar.gz: cifar-100-binary/ with train.bin and test.bin
  (coarse label byte, fine label byte, 3072 pixel bytes), fine_label_names.txt
  and coarse_label_names.txt.
- hostile-*.tar.gz: a test batch that calls os.system when unpickled; a
  test batch that is a symbolic link to /etc/passwd; a tar cut in the middle of a member; a binary batch whose size is not a
  whole number of records; an array whose shape claims more bytes than its
  data holds; labels that do not match the array's rows.
- expected.json: for each dataset and split, the count, labels, the SHA-256
  of the images as HWC bytes (numpy's reshape(-1, 3, 32, 32).transpose(0, 2,
  3, 1), as torchvision does) and a few pixels, computed here with numpy.

Run with Debian's python3-numpy: /usr/bin/python3 scripts/make-cifar-fixtures.py
"""
import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, '..', 'test', 'fixtures', 'cifar')
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(16)

CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship',
           'truck']
FINE = ('apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus '
        'butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach '
        'couch crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster '
        'house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree '
        'motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear '
        'pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road '
        'rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar '
        'sunflower sweet_pepper table tank telephone television tiger tractor train trout tulip '
        'turtle wardrobe whale willow_tree wolf woman worm').split()
COARSE = ('aquatic_mammals fish flowers food_containers fruit_and_vegetables '
          'household_electrical_devices household_furniture insects large_carnivores '
          'large_man-made_outdoor_things large_natural_outdoor_scenes '
          'large_omnivores_and_herbivores medium_mammals non-insect_invertebrates people '
          'reptiles small_mammals trees vehicles_1 vehicles_2').split()
assert len(CIFAR10) == 10 and len(FINE) == 100 and len(COARSE) == 20


def images(n, first):
    """n images as CIFAR stores them (n x 3072: R plane, G plane, B plane, rows of 32)."""
    k = np.arange(first, first + n).reshape(n, 1, 1, 1)
    c = np.arange(3).reshape(1, 3, 1, 1)
    y = np.arange(32).reshape(1, 1, 32, 1)
    x = np.arange(32).reshape(1, 1, 1, 32)
    planes = ((37 * k + 85 * c + 3 * y + 5 * x) % 256).astype(np.uint8)
    # A random strip per image and plane, so that no two positions share a formula.
    planes[:, :, 7, 3:19] = rng.integers(0, 256, size=(n, 3, 16), dtype=np.uint8)
    return planes.reshape(n, 3072)


class Py2Pickler(pickle._Pickler):
    """Python's pickler, writing strings as Python 2's cPickle did (py2 `str`:
    SHORT_BINSTRING / BINSTRING) and numpy's globals as numpy 1 named them."""
    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj.encode('latin1') if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack('<i', len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str
    dispatch[str] = save_py2_str

    def save_global(self, obj, name=None):
        module = obj.__module__.replace('numpy._core', 'numpy.core')
        self.write(pickle.GLOBAL + f'{module}\n{name or obj.__name__}\n'.encode())
        self.memoize(obj)

    dispatch[type] = save_global


def py2_dumps(obj):
    f = io.BytesIO()
    Py2Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def py2_pickle(obj):
    """py2_dumps, checked by loading it back with Python's pickle."""
    data = py2_dumps(obj)
    for encoding in ('latin1', 'bytes'):  # torchvision's, and the CIFAR page's
        back = pickle.loads(data, encoding=encoding)
        key = (lambda k: k.decode('latin1')) if encoding == 'latin1' else (lambda k: k)
        for k, v in obj.items():
            got = back[key(k)]
            if isinstance(v, np.ndarray):
                assert got.dtype == np.uint8 and np.array_equal(got, v)
            elif encoding == 'bytes':
                assert got == v
    return data


def batch(data, labels, name, label_keys):
    d = {b'batch_label': name.encode(), label_keys[0]: [int(l) for l in labels[0]]}
    for key, values in zip(label_keys[1:], labels[1:]):
        d[key] = [int(l) for l in values]
    d[b'data'] = data
    d[b'filenames'] = [f'image_{i:05d}.png'.encode() for i in range(len(data))]
    return d


def write_tar(path, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as tar:
        folders = sorted({m.split('/')[0] for m in members})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    write_gzip(path, buf.getvalue())


def write_gzip(path, data):
    with open(os.path.join(out, path), 'wb') as f:
        f.write(gzip.compress(data, mtime=0))


def hwc(data):
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def expected_split(data, labels, coarse=None):
    pixels = hwc(data)
    spots = [[int(n), int(y), int(x), int(c), int(pixels[n, y, x, c])]
             for n, y, x, c in [(0, 0, 0, 0), (0, 7, 5, 1), (len(data) - 1, 31, 30, 2),
                                (len(data) - 1, 12, 3, 0)]]
    split = {'count': len(data), 'labels': [int(l) for l in labels],
             'sha256': hashlib.sha256(pixels.tobytes()).hexdigest(), 'pixels': spots}
    if coarse is not None:
        split['coarseLabels'] = [int(l) for l in coarse]
    return split


def text_lines(names):
    return ('\n'.join(names) + '\n\n').encode()


# CIFAR-10: five training batches of 4 images (each class twice), a test batch of 3.
c10_train = [images(4, 4 * b) for b in range(5)]
c10_train_labels = np.split(rng.permutation(np.repeat(np.arange(10), 2)), 5)
c10_test = images(3, 100)
c10_test_labels = np.array([9, 0, 4])
c10_meta = {b'num_cases_per_batch': 10000, b'label_names': [n.encode() for n in CIFAR10],
            b'num_vis': 3072}

py = {}
for b in range(5):
    py[f'cifar-10-batches-py/data_batch_{b + 1}'] = batch(
        c10_train[b], [c10_train_labels[b]], f'training batch {b + 1} of 5', [b'labels'])
py['cifar-10-batches-py/test_batch'] = batch(c10_test, [c10_test_labels], 'testing batch 1 of 1',
                                             [b'labels'])
py['cifar-10-batches-py/batches.meta'] = c10_meta
readme = b'<meta HTTP-EQUIV="REFRESH" content="0; url=http://www.cs.toronto.edu/~kriz/cifar.html">'
write_tar('cifar-10-python.tar.gz', {**{k: py2_pickle(v) for k, v in py.items()},
                                      'cifar-10-batches-py/readme.html': readme})
write_tar('cifar-10-python-protocol4.tar.gz',
          {k: pickle.dumps(v, protocol=4) for k, v in py.items()})


def records(data, *labels):
    return b''.join(bytes([int(l[i]) for l in labels]) + data[i].tobytes()
                    for i in range(len(data)))


binary = {f'cifar-10-batches-bin/data_batch_{b + 1}.bin': records(c10_train[b], c10_train_labels[b])
          for b in range(5)}
binary['cifar-10-batches-bin/test_batch.bin'] = records(c10_test, c10_test_labels)
binary['cifar-10-batches-bin/batches.meta.txt'] = text_lines(CIFAR10)
binary['cifar-10-batches-bin/readme.html'] = readme
write_tar('cifar-10-binary.tar.gz', binary)

# CIFAR-100: a training file of 6 images, a test file of 3.
c100_train, c100_test = images(6, 200), images(3, 300)
c100_train_fine = np.array([0, 99, 42, 7, 7, 58])
c100_train_coarse = np.array([4, 17, 8, 7, 7, 18])
c100_test_fine, c100_test_coarse = np.array([3, 98, 51]), np.array([8, 14, 4])
write_tar('cifar-100-python.tar.gz', {
    'cifar-100-python/train': py2_pickle(batch(
        c100_train, [c100_train_fine, c100_train_coarse], 'training batch 1 of 1',
        [b'fine_labels', b'coarse_labels'])),
    'cifar-100-python/test': py2_pickle(batch(
        c100_test, [c100_test_fine, c100_test_coarse], 'testing batch 1 of 1',
        [b'fine_labels', b'coarse_labels'])),
    'cifar-100-python/meta': py2_pickle({b'fine_label_names': [n.encode() for n in FINE],
                                         b'coarse_label_names': [n.encode() for n in COARSE]}),
    'cifar-100-python/file.txt~': b'',
})
write_tar('cifar-100-binary.tar.gz', {
    'cifar-100-binary/train.bin': records(c100_train, c100_train_coarse, c100_train_fine),
    'cifar-100-binary/test.bin': records(c100_test, c100_test_coarse, c100_test_fine),
    'cifar-100-binary/fine_label_names.txt': text_lines(FINE),
    'cifar-100-binary/coarse_label_names.txt': text_lines(COARSE),
})


# Hostile archives: the test split is damaged; the meta file is sound.
class System:
    def __reduce__(self):
        return (os.system, ('echo pickle-ran-a-command',))


class ShortArray:
    """Pickles like a numpy array of shape (3, 3072) whose data holds 10 bytes fewer."""
    def __reduce__(self):
        return (np.core.multiarray._reconstruct, (np.ndarray, (0,), b'b'),
                (1, (3, 3072), np.dtype('u1'), False, c10_test.tobytes()[:-10]))


meta = {'cifar-10-batches-py/batches.meta': py2_pickle(c10_meta)}
write_tar('hostile-global.tar.gz', {**meta, 'cifar-10-batches-py/test_batch': py2_dumps(
    {b'labels': [1, 2, 3], b'data': System()})})
write_tar('hostile-short-array.tar.gz', {**meta, 'cifar-10-batches-py/test_batch': py2_dumps(
    {b'labels': [1, 2, 3], b'data': ShortArray()})})
write_tar('hostile-labels.tar.gz', {**meta, 'cifar-10-batches-py/test_batch': py2_pickle(
    batch(c10_test, [c10_test_labels[:2]], 'testing batch 1 of 1', [b'labels']))})
write_tar('hostile-records.tar.gz', {
    'cifar-10-batches-bin/batches.meta.txt': text_lines(CIFAR10),
    'cifar-10-batches-bin/test_batch.bin': records(c10_test, c10_test_labels)[:-100]})
link = io.BytesIO()
with tarfile.open(fileobj=link, mode='w', format=tarfile.GNU_FORMAT) as tar:
    info = tarfile.TarInfo('cifar-10-batches-py/batches.meta')
    info.size = len(meta['cifar-10-batches-py/batches.meta'])
    tar.addfile(info, io.BytesIO(meta['cifar-10-batches-py/batches.meta']))
    info = tarfile.TarInfo('cifar-10-batches-py/test_batch')
    info.type, info.linkname = tarfile.SYMTYPE, '/etc/passwd'
    tar.addfile(info)
write_gzip('hostile-symlink.tar.gz', link.getvalue())
whole = io.BytesIO()
with tarfile.open(fileobj=whole, mode='w', format=tarfile.GNU_FORMAT) as tar:
    for name, data in [('cifar-10-batches-py/batches.meta', py2_pickle(c10_meta)),
                       ('cifar-10-batches-py/test_batch', py2_pickle(py['cifar-10-batches-py/test_batch']))]:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
cut = whole.getvalue()
write_gzip('hostile-truncated.tar.gz', cut[:cut.index(b'testing batch') + 4000])

expected = {
    'cifar10': {'classes': CIFAR10,
                'train': expected_split(np.vstack(c10_train), np.concatenate(c10_train_labels)),
                'test': expected_split(c10_test, c10_test_labels)},
    'cifar100': {'classes': FINE, 'coarseClasses': COARSE,
                 'train': expected_split(c100_train, c100_train_fine, c100_train_coarse),
                 'test': expected_split(c100_test, c100_test_fine, c100_test_coarse)},
}
with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(expected, f, indent=1)
    f.write('\n')
