"""Writes test/fixtures/pil-views.json: views of JPEG files rendered by Pillow
the way torchvision renders them (Image.open(...).convert('RGB'), an optional
crop, resize(..., BILINEAR), a crop, an optional mirror), which the JPEG fast
path must reproduce exactly.

And, for each file, the SHA-256 of torchvision's own evaluation crop
(transforms.Resize(256) then CenterCrop(224) on the PIL image), which the
public transforms must reproduce byte for byte.

And test/fixtures/pil-pixels.json, for the in-memory path (`preprocess`,
`transformPixels`): for each complete JPEG, the SHA-256 of PIL's decoded RGB
(which the test checks sharp's decode against before it feeds those bytes to
the in-memory path), the SHA-256 of torchvision's geometric transforms on that
PIL image, and sampled float values of torchvision's whole evaluation
transform (Resize, CenterCrop, ToTensor, Normalize), in [height, width, 3]
order.

Also writes three JPEGs with Pillow's encoder (Debian's libjpeg-turbo 2.1.5), in
layouts the ImageNet photos in test/fixtures lack: a progressive 4:2:0 one, the
same without its refinement scans, and a baseline 4:4:4 one, with odd sizes.

Run with Debian's python3-pil and python3-torchvision (Pillow 9.4, torchvision 0.14):
/usr/bin/python3 scripts/make-pil-fixtures.py
"""
import base64
import hashlib
import json
import os
import random

from PIL import Image
from torchvision import __version__ as torchvision_version
from torchvision import transforms as T

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, '..', 'test', 'fixtures')

source = Image.open(os.path.join(fixtures, 'ILSVRC2012_test_00000003.JPEG')).convert('RGB')
source.crop((7, 11, 7 + 301, 11 + 217)).save(
    os.path.join(fixtures, 'progressive-420.jpg'), quality=90, progressive=True, subsampling=2)
source.crop((40, 3, 40 + 263, 3 + 195)).save(
    os.path.join(fixtures, 'baseline-444.jpg'), quality=95, subsampling=0)

# A progressive file whose refinement scans are missing (cut before its
# fourth scan, then the end marker): libjpeg smooths the coarse blocks with
# their neighbours', which a decode cropped to a few columns must not change.
whole = open(os.path.join(fixtures, 'progressive-420.jpg'), 'rb').read()
scans = [i for i in range(len(whole) - 1) if whole[i:i + 2] == b'\xff\xda']
with open(os.path.join(fixtures, 'progressive-partial.jpg'), 'wb') as out:
    out.write(whole[:scans[3]] + b'\xff\xd9')

files = [f'ILSVRC2012_test_0000000{i}.JPEG' for i in range(1, 5)]
files += ['progressive-420.jpg', 'baseline-444.jpg', 'progressive-partial.jpg']
rng = random.Random(20261128)


def shorter_side(width, height, s):
    # torchvision's Resize(int): the shorter side becomes s, the longer int(s * long / short).
    if width <= height:
        return s, int(s * height / width)
    return int(s * width / height), s


views = []
for name in files:
    image = Image.open(os.path.join(fixtures, name)).convert('RGB')
    width, height = image.size
    geometries = []
    # Shorter side to S (down, barely down, up), small crops at the corners, the
    # centre and random places, with and without the mirror.
    for s in (256, max(width, height) - 1, 480):
        rw, rh = shorter_side(width, height, s)
        cw, ch = 24, 18
        spots = [(0, 0), (rw - cw, rh - ch), (rw - cw, 0), (0, rh - ch), ((rw - cw) // 2, (rh - ch) // 2)]
        spots += [(rng.randrange(rw - cw + 1), rng.randrange(rh - ch + 1)) for _ in range(3)]
        for left, top in spots:
            geometries.append({'pre': None, 'resize': [rw, rh], 'post': [left, top, cw, ch],
                               'flip': rng.random() < 0.5})
    # A random-resized crop (torchvision's training preset): a crop of the
    # source resized to 224 × 224, of which a small window is kept.
    for _ in range(3):
        pw, ph = rng.randrange(60, width + 1), rng.randrange(60, height + 1)
        pre = [rng.randrange(width - pw + 1), rng.randrange(height - ph + 1), pw, ph]
        geometries.append({'pre': pre, 'resize': [224, 224],
                           'post': [rng.randrange(224 - 32 + 1), rng.randrange(224 - 32 + 1), 32, 32],
                           'flip': rng.random() < 0.5})
    # A strong reduction, whole: the filter spans several source pixels.
    geometries.append({'pre': None, 'resize': [width // 7, height // 7],
                       'post': [0, 0, width // 7, height // 7], 'flip': False})
    for g in geometries:
        view = image
        if g['pre']:
            l, t, w, h = g['pre']
            view = view.crop((l, t, l + w, t + h))
        view = view.resize(tuple(g['resize']), Image.BILINEAR)
        l, t, w, h = g['post']
        view = view.crop((l, t, l + w, t + h))
        if g['flip']:
            view = view.transpose(Image.FLIP_LEFT_RIGHT)
        assert view.mode == 'RGB' and view.size == (w, h)
        views.append({'file': name, **g, 'rgb': base64.b64encode(view.tobytes()).decode()})

evaluation = T.Compose([T.Resize(256), T.CenterCrop(224)])
torchvision_eval = {}
for name in files:
    view = evaluation(Image.open(os.path.join(fixtures, name)).convert('RGB'))
    torchvision_eval[name] = hashlib.sha256(view.tobytes()).hexdigest()

with open(os.path.join(fixtures, 'pil-views.json'), 'w') as out:
    json.dump({'generator': 'scripts/make-pil-fixtures.py', 'pillow': Image.__version__,
               'torchvision': torchvision_version, 'torchvisionEval': torchvision_eval,
               'views': views}, out, indent=0)
    out.write('\n')
print(f'wrote {len(views)} views')


# The in-memory path. Not progressive-partial.jpg: sharp's libjpeg (mozjpeg)
# smooths an unfinished progressive scan differently from Pillow's
# libjpeg-turbo 2.1.5, so the two decodes of that file differ.
IMAGENET = dict(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
CIFAR10 = dict(mean=[0.4914, 0.4822, 0.4465], std=[0.247, 0.2435, 0.2616])


def sha(image):
    assert image.mode == 'RGB'
    return hashlib.sha256(image.tobytes()).hexdigest()


def geometric(width, height):
    # Key: the transform as torchvision writes it; the test builds the same steps.
    # The centre crop before a resize (a crop of the source at an offset, then
    # both axes resized) is the geometry of RandomResizedCrop without its draws.
    ch, cw = height * 2 // 3, width // 2
    return {
        'Resize(256), CenterCrop(224)': T.Compose([T.Resize(256), T.CenterCrop(224)]),
        'Resize(232), CenterCrop(224)': T.Compose([T.Resize(232), T.CenterCrop(224)]),
        'Resize(256)': T.Resize(256),
        'Resize(480)': T.Resize(480),
        'Resize(24)': T.Resize(24),
        'Resize((224, 224))': T.Resize((224, 224)),
        f'CenterCrop(({ch}, {cw})), Resize((224, 224))': T.Compose(
            [T.CenterCrop((ch, cw)), T.Resize((224, 224))]),
    }


def float_samples(tensor, count, seed):
    # The CHW tensor as HWC values: [index into the [h, w, 3] array, value].
    c, h, w = tensor.shape
    hwc = tensor.permute(1, 2, 0).reshape(-1)
    picks = random.Random(seed).sample(range(h * w * c), count)
    return [[i, float(hwc[i])] for i in sorted(picks)]


pixel_files = files[:6] + ['cifar10-jpeg/cat-0000.jpg']
pixels = []
for k, name in enumerate(pixel_files):
    image = Image.open(os.path.join(fixtures, name)).convert('RGB')
    width, height = image.size
    entry = {'file': name, 'width': width, 'height': height, 'decoded': sha(image)}
    if name.startswith('cifar10'):
        to_float = T.Compose([T.ToTensor(), T.Normalize(**CIFAR10)])
        entry['floats'] = {'ToTensor(), Normalize(CIFAR10)': float_samples(to_float(image), 64, k)}
    else:
        entry['bytes'] = {key: sha(t(image)) for key, t in geometric(width, height).items()}
        entry['tenCrop'] = [sha(v) for v in T.Compose([T.Resize(256), T.TenCrop(224)])(image)]
        evaluation = T.Compose([T.Resize(232), T.CenterCrop(224), T.ToTensor(), T.Normalize(**IMAGENET)])
        entry['floats'] = {'Resize(232), CenterCrop(224), ToTensor(), Normalize(IMAGENET)':
                           float_samples(evaluation(image), 64, k)}
    pixels.append(entry)

with open(os.path.join(fixtures, 'pil-pixels.json'), 'w') as out:
    json.dump({'generator': 'scripts/make-pil-fixtures.py', 'pillow': Image.__version__,
               'torchvision': torchvision_version, 'images': pixels}, out, indent=1)
    out.write('\n')
print(f'wrote {len(pixels)} images for the in-memory path')
