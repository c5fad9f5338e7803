#!/usr/bin/env python3
"""Parity fixtures for the OV-MER emotion-wheel scoring (include/emofuse/metrics/emotion_wheel.hpp).

Writes small synthetic emotion_wheel/ folders in MERTools' format (format.csv, synonym.xlsx,
wheel1..5.xlsx), random truth/prediction files (unmapped, misspelled, multi-form, upper-case
and empty answers), and the numbers MERTools' own wheel.py computes on them, for the MER2025
(MER2025_Track23) and MER2026 (MER2026_Track2) releases. wheel.py is imported from the
checkout given; its imports that scoring does not use are stubbed, and the two helpers it
takes from toolkit/utils (string_to_list, func_read_key_from_csv) are loaded from the
checkout's own files. Needs python3-pandas and python3-openpyxl.

  generate_wheel_fixtures.py --mertools /path/to/MERTools [--real]

--real also scores the same kind of random answers on the shipped MER2025/MER2026 folders and
prints MERTools' numbers (those folders are not committed: see docs/metrics.md).
"""
import argparse
import ast
import contextlib
import importlib.util
import io
import json
import os
import random
import re
import sys
import tempfile
import types
import warnings

import numpy as np
import openpyxl
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, 'data', 'wheel')
TRACKS = {'mertools': 'MER2025/MER2025_Track23', 'mertools2026': 'MER2026/MER2026_Track2'}
STUBBED = ('config', 'toolkit', 'toolkit.utils', 'toolkit.utils.read_files',
           'toolkit.utils.chatgpt', 'toolkit.utils.functions', 'mertools_wheel')


def functions_from(path, names, namespace):
    """A module holding only the named top-level functions of a source file."""
    tree = ast.parse(open(path, encoding='utf-8').read())
    module = types.ModuleType(os.path.basename(path))
    module.__dict__.update(namespace)
    body = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name in names]
    exec(compile(ast.Module(body=body, type_ignores=[]), path, 'exec'), module.__dict__)
    module.__all__ = sorted(names)
    return module


def load_wheel(track, wheel_root):
    """Imports track/my_affectgpt/evaluation/wheel.py with EMOTION_WHEEL_ROOT = wheel_root."""
    for name in STUBBED:
        sys.modules.pop(name, None)
    utils = os.path.join(track, 'toolkit', 'utils')
    if not os.path.isdir(utils):
        sys.exit(f'{utils}: missing; --mertools needs a full MERTools checkout (wheel.py takes '
                 'string_to_list and func_read_key_from_csv from toolkit/utils)')
    functions = functions_from(os.path.join(utils, 'functions.py'), {'string_to_list'},
                               {'np': np, 'pd': pd, 're': re})
    read_files = functions_from(os.path.join(utils, 'read_files.py'),
                                {'func_read_key_from_csv', 'func_write_key_to_csv'},
                                {'np': np, 'pd': pd, 'os': os})
    config = types.ModuleType('config')
    config.EMOTION_WHEEL_ROOT = wheel_root
    config.OUTSIDE_WHEEL_MAPPING = os.path.join(wheel_root, 'wheel_mapping.npz')
    chatgpt = types.ModuleType('toolkit.utils.chatgpt')
    chatgpt.__all__ = []
    package, subpackage = types.ModuleType('toolkit'), types.ModuleType('toolkit.utils')
    package.__path__, subpackage.__path__ = [], []
    sys.modules.update({'config': config, 'toolkit': package, 'toolkit.utils': subpackage,
                        'toolkit.utils.read_files': read_files, 'toolkit.utils.chatgpt': chatgpt,
                        'toolkit.utils.functions': functions})
    if importlib.util.find_spec('scipy') is None:
        sys.modules['scipy'] = types.ModuleType('scipy')
    spec = importlib.util.spec_from_file_location(
        'mertools_wheel', os.path.join(track, 'my_affectgpt', 'evaluation', 'wheel.py'))
    module = importlib.util.module_from_spec(spec)
    sys.modules['mertools_wheel'] = module
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


def write_mapping_npz(mer2025, folder):
    """MER2026 reads the chain from wheel_mapping.npz; build it with MERTools' own functions
    from the folder's files (the shipped npz equals what this gives for its folder)."""
    with contextlib.redirect_stdout(io.StringIO()):
        wheel_map_whole = {f'wheel{k}': {level: mer2025.func_get_wheel_cluster(f'wheel{k}', level)
                                         for level in ('level1', 'level2')} for k in range(1, 6)}
        np.savez(os.path.join(folder, 'wheel_mapping.npz'),
                 format_mapping=mer2025.read_format2raws(),
                 raw_mapping=mer2025.read_candidate_synonym_merge(),
                 wheel_map_whole=wheel_map_whole)


def write_sheet(path, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    reproducible(path)


def reproducible(path):
    """Fixed member times and document dates, so a rerun writes the same bytes."""
    import zipfile
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            if name == 'docProps/core.xml':
                data = re.sub(rb'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', b'2026-01-01T00:00:00Z', data)
            archive.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data,
                             zipfile.ZIP_DEFLATED)


# Five small wheels: groups repeat across wheels, a word sits in two level-1 groups of one
# wheel (the later assignment wins), blank cells continue the row above, "NA" is pandas NaN,
# case and spaces are normalised, and level-1 names map to their first level-2 child.
WHEELS = {
    1: [('Joy', 'Happy', 'Glad'), (None, None, 'Cheerful'), (None, 'Proud', 'Confident'),
        ('Sad', 'Lonely', 'Isolated'), (None, 'NA', 'Gloomy'), (None, 'Guilty', 'Ashamed'),
        ('Anger', 'Mad', 'Furious'), (None, None, 'Glad')],
    2: [('Positive', 'Happy', 'Joy'), (None, ' Content ', 'Calm'), (None, None, 'Relaxed'),
        ('Negative', 'Sad', 'Lonely'), (None, 'Fear', 'Scared'), (None, None, 'Anxious')],
    3: [('Pleasant', 'Joy', 'Cheerful'), (None, 'Calm', 'Serene'),
        ('Unpleasant', 'Anger', 'Furious'), (None, 'Disgust', 'Revolted'),
        (None, 'Sad', 'Gloomy')],
    4: [('Surprise', 'Amazed', 'Astonished'), (None, 'Confused', 'Puzzled'),
        ('Fear', 'Anxious', 'Worried'), (None, 'Scared', 'Terrified'), ('Joy', 'Proud', 'Glad')],
    5: [('HIGH', 'Excited', 'Eager'), (None, 'Furious', 'Angry'), ('LOW', 'Bored', 'Tired'),
        (None, 'Relaxed', 'Calm'), (None, None, 'Serene')],
}


def wheel_words():
    words = set()
    for rows in WHEELS.values():
        for row in rows:
            for cell in row:
                if cell is not None and cell != 'NA':
                    words.add(cell.lower().strip())
    return sorted(words)


def synthetic_folder(folder, rng, linked=True):
    """linked=False: no synonyms and no shared forms, so a word reaches only its own wheels."""
    os.makedirs(folder, exist_ok=True)
    for k, rows in WHEELS.items():
        write_sheet(os.path.join(folder, f'wheel{k}.xlsx'), ['level1', 'level2', 'level3'], rows)
    labels = wheel_words()
    extra = ['delighted', 'merry', 'blue', 'irate', 'frightened', 'nervous', 'tranquil',
             'stunned', 'jealous']
    header = [f'{kind}_run{r}' for r in range(1, 9) for kind in ('word', 'synonym')]
    rows = []
    for label in labels:
        row = []
        for _ in range(8):
            synonyms = rng.sample(extra + labels, rng.randint(0, 3)) if linked else []
            text = rng.choice(["['{}']".format("', '".join(synonyms)), ', '.join(synonyms)])
            row += [label.upper() if rng.random() < 0.2 else label, text if synonyms else None]
        rows.append(row)
    write_sheet(os.path.join(folder, 'synonym.xlsx'), header, rows)
    names = sorted(set(labels + extra)) if linked else labels
    forms = {}
    for name in names:
        variants = {name + 'ly', name + 'ness', name + 's'}
        if linked and rng.random() < 0.3:
            variants.add(rng.choice(names))  # a form shared by two names
        forms[name] = ','.join(sorted(variants))
    with open(os.path.join(folder, 'format.csv'), 'w', encoding='utf-8') as out:
        out.write('name,format\n')
        for name in names:
            out.write(f'{name},"{forms[name]}"\n')
        out.write('\n')  # a blank line pandas skips
    return names


def random_answer(rng, vocabulary):
    if rng.random() < 0.1:
        return '-'
    words = []
    for _ in range(rng.randint(1, 4)):
        pick = rng.random()
        word = rng.choice(vocabulary)
        if pick < 0.15:
            word = word.upper() + ' '
        elif pick < 0.3:
            word = word[:-1] + 'x'  # misspelled
        elif pick < 0.4:
            word = rng.choice(['unmapped', 'zen', 'meh'])
        words.append(word)
    if rng.random() < 0.3:
        return "['" + "', '".join(words) + "']"
    return ', '.join(words)


def score(module, truth, pred):
    """wheel_metric_calculation at both levels; '-' is the empty answer."""
    name2gt = {f's{i}': ('' if t == '-' else t) for i, t in enumerate(truth)}
    name2pred = {f's{i}': ('' if p == '-' else p) for i, p in enumerate(pred)}
    out = {}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter('ignore')
        for level in ('level1', 'level2'):
            f, p, r = module.wheel_metric_calculation(name2gt=name2gt, name2pred=name2pred,
                                                      inter_print=False, level=level)
            out[f'{level}_f_score'], out[f'{level}_precision'], out[f'{level}_recall'] = f, p, r
    out['track2_score'] = (out['level1_f_score'] + out['level2_f_score']) / 2
    return {key: (None if value != value else float(value)) for key, value in out.items()}


# Hand-written workbooks for the .xlsx reader, each with what pandas.read_excel makes of it
# (header row and data rows; NaN as null) or the error it raises.
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>{shared}</Types>')
SHARED_TYPE = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxml'
               'formats-officedocument.spreadsheetml.sharedStrings+xml"/>')
WORKBOOK = ('<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r='
            '"http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="{name}" sheetId="1" r:id="rId7"/><sheet name="Other" sheetId="2" '
            'r:id="rId8"/></sheets></workbook>')
RELS = ('<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId8" Type="x" Target="worksheets/other.xml"/>'
        '<Relationship Id="rId7" Type="x" Target="{target}"/></Relationships>')
SHEET = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
         '<sheetData>{rows}</sheetData></worksheet>')
SST = '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{items}</sst>'
OTHER = SHEET.format(rows='<row r="1"><c r="A1" t="inlineStr"><is><t>wrong</t></is></c></row>')

XLSX_CASES = {
    # shared strings with rich-text runs, phonetic runs and the _x005F_ escape; inline strings;
    # numbers; cached formula strings; error values; an empty <v>; a gap row; trailing
    # empty rows pandas drops; cells and rows without references.
    'kinds': dict(
        strings=['<si><t>level1</t></si>', '<si><r><t>Jo</t></r><r><rPr/><t>y</t></r></si>',
                 '<si><t>Sad</t><rPh sb="0" eb="1"><t>IGNORED</t></rPh></si>',
                 '<si><t>a_x005F_x0041_b</t></si>', '<si><t xml:space="preserve"> NA </t></si>',
                 '<si><t>NA</t></si>', '<si><t>level2</t></si>'],
        rows='<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>6</v></c>'
             '<c t="inlineStr"><is><t>level3</t></is></c></row>'
             '<row r="2"><c r="A2" t="s"><v>1</v></c><c r="B2"><v>2.5</v></c>'
             '<c r="C2" t="str"><f>A2</f><v>Joy</v></c></row>'
             '<row><c r="A3" t="s"><v>2</v></c><c r="B3" t="e"><v>#N/A</v></c>'
             '<c r="C3" t="s"><v>3</v></c></row>'
             '<row r="5"><c r="A5" t="s"><v>4</v></c><c r="B5" t="s"><v>5</v></c><c r="C5"><v></v></c>'
             '</row><row r="6"><c r="A6" t="inlineStr"><is><r><t>in</t></r><r><t>line</t></r></is>'
             '</c></row><row r="8"><c r="A8" s="1"/></row>'),
    # data starting at C3: pandas still reads from A1, so row 1 is an all-NaN header.
    'offset': dict(strings=[], rows='<row r="3"><c r="C3" t="inlineStr"><is><t>x</t></is></c>'
                                    '</row>'),
    'boolean': dict(strings=[], rows='<row r="1"><c r="A1" t="inlineStr"><is><t>h</t></is></c>'
                                     '</row><row r="2"><c r="A2" t="b"><v>1</v></c></row>'),
    'absolute_target': dict(strings=['<si><t>h</t></si>'], target='/xl/worksheets/sheet9.xml',
                            rows='<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
}


def write_xlsx_cases(folder):
    import zipfile
    os.makedirs(folder, exist_ok=True)
    readings = {}
    for case, spec in XLSX_CASES.items():
        target = spec.get('target', 'worksheets/sheet1.xml')
        path = os.path.join(folder, f'{case}.xlsx')
        with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as archive:
            archive.writestr('[Content_Types].xml',
                             CONTENT_TYPES.format(shared=SHARED_TYPE if spec['strings'] else ''))
            archive.writestr('xl/workbook.xml', WORKBOOK.format(name='Data ' + case))
            archive.writestr('xl/_rels/workbook.xml.rels', RELS.format(target=target))
            archive.writestr('xl/' + target.split('/xl/')[-1] if target.startswith('/')
                             else 'xl/' + target, SHEET.format(rows=spec['rows']))
            archive.writestr('xl/worksheets/other.xml', OTHER)
            if spec['strings']:
                archive.writestr('xl/sharedStrings.xml', SST.format(items=''.join(spec['strings'])))
        reproducible(path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                frame = pd.read_excel(path)
            cell = lambda v: None if (isinstance(v, float) and v != v) else (
                v if isinstance(v, str) else float(v))
            if any(isinstance(v, bool) for row in frame.itertuples(index=False) for v in row):
                raise TypeError('boolean cell')  # wheel.py cannot use it as text
            readings[case] = {'header': [str(c) for c in frame.columns],
                              'rows': [[cell(v) for v in row]
                                       for row in frame.itertuples(index=False)]}
        except Exception as error:  # recorded: the C++ reader must fail too
            readings[case] = {'error': type(error).__name__}
    with open(os.path.join(folder, 'pandas.json'), 'w') as out:
        json.dump(readings, out, indent=1, sort_keys=True)
        out.write('\n')


def vocabulary_of(names):
    forms = []
    for name in names:
        forms += [name, name + 's', name + 'ly']
    return forms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--mertools', required=True, help='MERTools checkout (repository root)')
    parser.add_argument('--real', action='store_true', help='also score the shipped folders')
    args = parser.parse_args()
    tracks = {release: os.path.join(args.mertools, path) for release, path in TRACKS.items()}
    rng = random.Random(20260605)
    expected = {}
    cases = {'random': 240, 'few': 6}
    for case, samples in cases.items():
        folder = os.path.join(DATA, case)
        names = synthetic_folder(folder, rng, linked=case != 'few')
        vocabulary = vocabulary_of(names)
        if case == 'few':  # truth only from wheel1's own groups: other wheels score nothing
            vocabulary = ['isolated', 'ashamed']
        truth = [random_answer(rng, vocabulary) for _ in range(samples)]
        pred_vocabulary = vocabulary_of(['isolated', 'lonely', 'glad'] if case == 'few' else names)
        pred = [random_answer(rng, pred_vocabulary) for _ in range(samples)]
        for kind, lines in (('truth', truth), ('pred', pred)):
            with open(os.path.join(DATA, f'{case}_{kind}.txt'), 'w', encoding='utf-8') as out:
                out.write('\n'.join(lines) + '\n')
        expected[case] = {}
        with tempfile.TemporaryDirectory() as scratch:
            mer2025 = load_wheel(tracks['mertools'], folder)
            expected[case]['mertools'] = score(mer2025, truth, pred)
            for file in os.listdir(folder):
                os.symlink(os.path.join(folder, file), os.path.join(scratch, file))
            write_mapping_npz(mer2025, scratch)
            mer2026 = load_wheel(tracks['mertools2026'], scratch)
            expected[case]['mertools2026'] = score(mer2026, truth, pred)
    write_xlsx_cases(os.path.join(DATA, 'xlsx'))
    with open(os.path.join(DATA, 'expected.json'), 'w') as out:
        json.dump(expected, out, indent=1, sort_keys=True)
        out.write('\n')
    print(json.dumps(expected, indent=1, sort_keys=True))

    if args.real:
        for release, track in tracks.items():
            folder = os.path.join(track, 'emotion_wheel')
            with contextlib.redirect_stdout(io.StringIO()):  # MER2026's wheel.py reads the npz
                names = sorted(load_wheel(tracks['mertools'], folder).read_format2raws().keys())
            module = load_wheel(track, folder)
            truth = [random_answer(rng, names) for _ in range(2000)]
            pred = [random_answer(rng, names) for _ in range(2000)]
            base = os.path.join(tempfile.gettempdir(), f'emofuse_wheel_real_{release}')
            for kind, lines in (('truth', truth), ('pred', pred)):
                with open(f'{base}_{kind}.txt', 'w', encoding='utf-8') as out:
                    out.write('\n'.join(lines) + '\n')
            print(release, folder, f'{base}_truth.txt', f'{base}_pred.txt')
            print(json.dumps(score(module, truth, pred), indent=1, sort_keys=True))


if __name__ == '__main__':
    main()
