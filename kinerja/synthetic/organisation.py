"""The agency's organisation: its units (OPD and their sub-units) and every position in them,
with the supervisor of each position. It depends only on the seed, the agency and the number of
employees, so every period of one agency shares it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kinerja.synthetic import names
from kinerja.synthetic.common import Seeds, Stream

JPT, ADMINISTRATOR, PENGAWAS, FUNGSIONAL, PELAKSANA = (
    "JPT", "ADMINISTRATOR", "PENGAWAS", "FUNGSIONAL", "PELAKSANA")
_TERAMPIL_ONLY = {"Polisi Pamong Praja", "Pemadam Kebakaran", "Penguji Kendaraan Bermotor",
                  "Pustakawan", "Arsiparis"}


@dataclass
class Unit:
    code: str
    name: str
    parent: int  # index into Organisation.units, -1 for a top-level OPD
    kind: str  # opd, bagian, kecamatan, kelurahan, puskesmas, sd, smp
    domain: str  # general, health, education, area: picks positions and indicators
    weight: float  # relative headcount
    spec: names.OpdSpec | None = None
    head: int = -1  # position index of the unit's head
    has_iku: bool = True
    has_budget: bool = True


@dataclass
class Position:
    unit: int
    position_type: str
    title: str  # the position's name; for FUNGSIONAL the jenjang is appended per person
    track: str  # "", "ahli" or "terampil" (FUNGSIONAL only)
    supervisor: int  # position index, -1 for the head of the agency
    pppk_share: float  # chance the occupant is PPPK rather than PNS
    domain: str


@dataclass
class Organisation:
    units: list[Unit]
    positions: list[Position]

    @property
    def unit_codes(self) -> list[str]:
        return [u.code for u in self.units]


# --- units ---------------------------------------------------------------------------------------


def _place_names(rng: np.random.Generator, count: int, taken: set[str]) -> list[str]:
    """`count` distinct place names: real ones first, then compounds like Sumberrejo."""
    pool = [n for n in names.PLACE_NAMES if n not in taken]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    out: list[str] = []
    attempts = 0
    while len(out) < count:
        if pool:
            name = pool.pop()
        else:
            attempts += 1
            prefix = names.PLACE_PREFIXES[rng.integers(len(names.PLACE_PREFIXES))]
            suffix = names.PLACE_SUFFIXES[rng.integers(len(names.PLACE_SUFFIXES))]
            name = prefix + suffix
            if attempts > 20 * count:  # the compounds ran out: qualify them
                name += " " + names.PLACE_QUALIFIERS[rng.integers(len(names.PLACE_QUALIFIERS))]
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def build_units(employees: int, rng: np.random.Generator) -> list[Unit]:
    """Units sized to the agency: a small agency gets a few OPDs, a city some kecamatan with
    kelurahan, puskesmas and schools, a province-sized one thousands of units."""
    n_opd = int(np.clip(employees // 40, 3, len(names.OPDS)))
    with_children = employees >= 150
    n_kecamatan = int(np.clip(round(employees / 450), 1, 999)) if with_children else 0
    units: list[Unit] = []
    index_of: dict[str, int] = {}
    for number, spec in enumerate(names.OPDS[:n_opd], start=1):
        code = f"{spec.urusan}.0.00.0.00.{number:02d}.0000"
        index_of[spec.name] = len(units)
        units.append(Unit(code, spec.name, -1, "opd", spec.domain,
                          spec.weight * names.OPD_WEIGHT_SCALE, spec))
    taken: set[str] = set()
    kecamatan_names = _place_names(rng, n_kecamatan, taken)
    kecamatan: list[int] = []
    for number, place in enumerate(kecamatan_names, start=1):
        kecamatan.append(len(units))
        units.append(Unit(f"{names.KECAMATAN_URUSAN}.0.00.0.00.{number:02d}.0000",
                          f"Kecamatan {place}", -1, "kecamatan", "area",
                          names.CHILD_WEIGHTS["kecamatan"] * names.OPD_WEIGHT_SCALE))
    children: list[tuple[int, str, str, str]] = []  # parent, kind, name, domain
    if with_children:
        setda = index_of[names.SETDA]
        for bagian in names.SETDA_BAGIAN[: min(len(names.SETDA_BAGIAN), employees // 250)]:
            children.append((setda, "bagian", bagian, "general"))
        per_kecamatan = rng.integers(3, 9, n_kecamatan) if employees >= 300 else \
            rng.integers(1, 3, n_kecamatan)
        for k, count in zip(kecamatan, per_kecamatan, strict=True):
            for place in _place_names(rng, int(count), taken):
                children.append((k, "kelurahan", f"Kelurahan {place}", "area"))
        if names.DINKES in index_of:
            n_puskesmas = n_kecamatan + int(round(0.3 * n_kecamatan))
            for i in range(n_puskesmas):
                place = kecamatan_names[i % n_kecamatan]
                suffix = "" if i < n_kecamatan else " " + names.PLACE_QUALIFIERS[
                    (i // n_kecamatan - 1) % len(names.PLACE_QUALIFIERS)]
                children.append((index_of[names.DINKES], "puskesmas", f"Puskesmas {place}{suffix}",
                                 "health"))
        if names.DISDIK in index_of:
            for kind, label, share, size in (("sd", "SD Negeri", 0.22, 14), ("smp", "SMP Negeri",
                                                                             0.10, 26)):
                count = max(1, int(round(employees * share / size)))
                for i in range(count):
                    place = kecamatan_names[i % n_kecamatan]
                    children.append((index_of[names.DISDIK], kind,
                                     f"{label} {i // n_kecamatan + 1} {place}", "education"))
    child_numbers: dict[int, int] = {}
    for parent, kind, name, domain in children:
        child_numbers[parent] = child_numbers.get(parent, 0) + 1
        code = units[parent].code[: -len("0000")] + f"{child_numbers[parent]:04d}"
        units.append(Unit(code, name, parent, kind, domain,
                          names.CHILD_WEIGHTS[kind] * names.OPD_WEIGHT_SCALE))
    # Schools report IKU and budget through the Dinas; kelurahan budgets sit at the kecamatan.
    draws = rng.random((len(units), 2))
    for index, (unit, (u_iku, u_budget)) in enumerate(zip(units, draws, strict=True)):
        core = index < 4  # Setda, BKPSDM, Dinkes, Disdik always report, so demos show them
        if unit.kind in ("sd", "smp"):
            unit.has_iku = unit.has_budget = False
        elif unit.kind == "kelurahan":
            unit.has_iku, unit.has_budget = bool(u_iku < 0.3), False
        else:  # a few units have not entered their IKU or budget yet
            unit.has_iku = core or bool(u_iku < 0.88)
            unit.has_budget = core or bool(u_budget < 0.9)
    return units


def _allocate(units: list[Unit], employees: int, rng: np.random.Generator) -> np.ndarray:
    """Headcount per unit: one each (the head), the rest in proportion to jittered weights."""
    weights = np.array([u.weight for u in units]) * rng.uniform(0.7, 1.3, len(units))
    extra = employees - len(units)
    share = extra * weights / weights.sum()
    sizes = np.floor(share).astype(np.int64)
    remainder = extra - int(sizes.sum())
    sizes[np.argsort(-(share - sizes), kind="stable")[:remainder]] += 1
    return sizes + 1


# --- positions -----------------------------------------------------------------------------------


def _fungsional_pool(unit: Unit) -> list[tuple[str, str]]:
    pool = list(names.FUNGSIONAL_BY_DOMAIN.get(unit.domain, names.FUNGSIONAL_BY_DOMAIN["general"]))
    spec = unit.spec if unit.spec is not None else None
    if spec is not None and spec.fungsional:
        # The OPD's own professions dominate its fungsional staff.
        own = [(f, "terampil" if f in _TERAMPIL_ONLY else "ahli") for f in spec.fungsional]
        pool = own * 3 + pool
    return pool


def _staff_unit(unit: Unit, index: int, size: int, head_supervisor: int, first: int,
                rng: np.random.Generator) -> list[Position]:
    """The positions of one unit, head first. `first` is the global index the head gets, so
    supervisors can be global indices."""
    kind, domain = unit.kind, unit.domain
    out: list[Position] = []

    def add(ptype: str, title: str, supervisor: int, track: str = "", pppk: float = 0.0) -> int:
        out.append(Position(index, ptype, title, track, supervisor, pppk, domain))
        return first + len(out) - 1

    head_type, head_title = {
        "opd": (JPT, (unit.spec.head_title if unit.spec and unit.spec.head_title
                      else f"Kepala {unit.name}")),
        "bagian": (ADMINISTRATOR, f"Kepala {unit.name}"),
        "kecamatan": (ADMINISTRATOR, f"Camat {unit.name.removeprefix('Kecamatan ')}"),
        "kelurahan": (PENGAWAS, f"Lurah {unit.name.removeprefix('Kelurahan ')}"),
        "puskesmas": (PENGAWAS, f"Kepala {unit.name}"),
        "sd": (FUNGSIONAL, f"Kepala {unit.name}"),
        "smp": (FUNGSIONAL, f"Kepala {unit.name}"),
    }[kind]
    head = add(head_type, head_title, head_supervisor, "ahli" if head_type == FUNGSIONAL else "")
    if size == 1:
        return out

    leaders: list[int] = []  # administrators, supervised by the head
    managers: list[int] = []  # pengawas, supervised by an administrator
    if kind == "opd":
        if unit.spec is not None and unit.spec.name == names.SETDA:
            for asisten in names.SETDA_ASISTEN[: min(3, (size - 1) // 12)]:
                leaders.append(add(JPT, asisten, head))
        else:
            n_admin = int(np.clip(round(size / 30), 1, 6))
            bidang = list(unit.spec.bidang if unit.spec and unit.spec.bidang
                          else names.GENERIC_BIDANG)
            short = unit.name.split(" ", 1)[0]
            leaders.append(add(ADMINISTRATOR, f"Sekretaris {unit.name}" if short in
                               ("Dinas", "Badan") else "Sekretaris", head))
            for b in bidang[: n_admin - 1]:
                leaders.append(add(ADMINISTRATOR, f"Kepala {b}", head))
        n_manager = int(np.clip(round(size / 12), 0, 3 * max(1, len(leaders))))
        for m in range(n_manager):
            lead = leaders[m % len(leaders)] if leaders else head
            suffix = names.SEKSI_SUFFIXES[m % len(names.SEKSI_SUFFIXES)]
            if leaders and lead == leaders[0] and m < len(names.PENGAWAS_SEKRETARIAT):
                title = names.PENGAWAS_SEKRETARIAT[m]
            elif unit.spec is not None and unit.spec.name == names.SETDA:
                title = "Kepala Sub Bagian " + suffix
            else:
                title = "Kepala Seksi " + suffix
            managers.append(add(PENGAWAS, title, lead))
    elif kind == "kecamatan":
        leaders.append(add(ADMINISTRATOR, "Sekretaris Kecamatan", head))
        for title in names.KECAMATAN_SEKSI[: int(np.clip(size // 5, 0, 5))]:
            managers.append(add(PENGAWAS, title, head))
    elif kind == "kelurahan":
        if size >= 4:
            managers.append(add(PENGAWAS, "Sekretaris Kelurahan", head))
        for title in names.KELURAHAN_SEKSI[: int(np.clip((size - 3) // 3, 0, 3))]:
            managers.append(add(PENGAWAS, title, head))
    elif kind == "puskesmas" and size >= 5:
        managers.append(add(PENGAWAS, "Kepala Sub Bagian Tata Usaha", head))
    elif kind == "bagian" and size >= 6:
        managers.append(add(PENGAWAS, f"Kepala Sub Bagian {unit.name.removeprefix('Bagian ')}",
                            head))

    fungsional_share = {"education": 0.88, "health": 0.78, "area": 0.25}.get(domain, 0.45)
    pppk_fungsional = {"education": 0.5, "health": 0.4}.get(domain, 0.15)
    pool = _fungsional_pool(unit)
    pelaksana = names.PELAKSANA_BY_DOMAIN.get(domain, names.PELAKSANA_BY_DOMAIN["general"])
    bosses = managers or leaders or [head]
    n_staff = size - len(out)
    draws = rng.random((n_staff, 3))
    for i, (u_type, u_title, u_boss) in enumerate(draws):
        boss = bosses[int(u_boss * len(bosses))] if kind != "opd" or i % 5 else \
            (leaders or [head])[i // 5 % len(leaders or [head])]
        if u_type < fungsional_share:
            title, track = pool[int(u_title * len(pool))]
            add(FUNGSIONAL, title, boss, track, pppk_fungsional)
        else:
            add(PELAKSANA, pelaksana[int(u_title * len(pelaksana))], boss, "", 0.08)
    return out


def build_organisation(seeds: Seeds, employees: int) -> Organisation:
    rng = seeds.rng(Stream.ORGANISATION)
    units = build_units(employees, rng)
    sizes = _allocate(units, employees, rng)
    positions: list[Position] = []
    setda = 0  # the Sekretariat Daerah comes first; its head is the head of the agency
    for index, (unit, size) in enumerate(zip(units, sizes, strict=True)):
        if index == setda:
            head_supervisor = -1
        elif unit.parent < 0:
            head_supervisor = units[setda].head
        elif units[unit.parent].kind == "opd" and unit.parent == setda:
            # Bagian heads report to an Asisten (a JPT) where the Setda has them.
            asisten = [p for p in range(units[setda].head + 1, len(positions))
                       if positions[p].position_type == JPT and positions[p].unit == setda]
            head_supervisor = asisten[index % len(asisten)] if asisten else units[setda].head
        else:
            head_supervisor = units[unit.parent].head
        unit.head = len(positions)
        positions += _staff_unit(unit, index, int(size), head_supervisor, len(positions), rng)
    return Organisation(units, positions)
