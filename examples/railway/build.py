"""Build the Valdora Regional Railway example: railway.sqlite and railway.ttl, next to this file.

Everything here is invented (no real railway, town or person is described). The build is
deterministic: the generated journeys come from a seeded random.Random, and both files are
rewritten from scratch on every run.

    python examples/railway/build.py
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, SKOS

HERE = Path(__file__).resolve().parent
DB_PATH = HERE / "railway.sqlite"
TTL_PATH = HERE / "railway.ttl"
SEED = 20240301

SCHEMA = """
CREATE TABLE lines (
    line_id INTEGER PRIMARY KEY,
    line_code TEXT NOT NULL UNIQUE,       -- short code shown on timetables
    line_name TEXT NOT NULL UNIQUE,
    length_km REAL NOT NULL,              -- route length in kilometres
    opened_on TEXT,                       -- ISO date; NULL while the line is only planned
    traction TEXT NOT NULL,               -- 'electric' or 'diesel'
    status TEXT NOT NULL,                 -- 'active', 'suspended' or 'planned'
    max_speed_kmh INTEGER NOT NULL        -- line speed limit, km/h
);
CREATE TABLE stations (
    station_id INTEGER PRIMARY KEY,
    station_name TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,                 -- 'Central', 'Coast', 'Highlands', 'North', 'South'
    opened_on TEXT,                       -- ISO date; NULL for a station not yet opened
    platforms INTEGER NOT NULL,
    elevation_m INTEGER,                  -- metres above sea level
    step_free TEXT NOT NULL,              -- 'yes' or 'no': step-free access to every platform
    staffed TEXT,                         -- 'yes' or 'no'; NULL when not yet decided
    daily_footfall INTEGER                -- average passengers entering and leaving per day; NULL if not counted
);
CREATE TABLE line_stops (
    line_id INTEGER NOT NULL REFERENCES lines(line_id),
    station_id INTEGER NOT NULL REFERENCES stations(station_id),
    stop_sequence INTEGER NOT NULL,       -- 1 = the line's first station
    distance_km REAL NOT NULL,            -- distance from the line's first station, km
    PRIMARY KEY (line_id, station_id)
);
CREATE TABLE train_classes (
    class_id INTEGER PRIMARY KEY,
    class_name TEXT NOT NULL UNIQUE,
    manufacturer TEXT NOT NULL,
    introduced_year INTEGER NOT NULL,
    seats INTEGER NOT NULL,               -- seats per unit
    max_speed_kmh INTEGER NOT NULL,       -- design top speed, km/h
    traction TEXT NOT NULL,               -- 'electric', 'diesel' or 'hybrid'
    cars_per_unit INTEGER NOT NULL
);
CREATE TABLE units (
    unit_id INTEGER PRIMARY KEY,
    fleet_number TEXT NOT NULL UNIQUE,
    class_id INTEGER NOT NULL REFERENCES train_classes(class_id),
    built_on TEXT NOT NULL,               -- ISO date the unit was delivered
    status TEXT NOT NULL,                 -- 'in service', 'overhaul', 'stored' or 'withdrawn'
    mileage_km INTEGER,                   -- kilometres run since delivery; NULL if not yet recorded
    depot_name TEXT NOT NULL
);
CREATE TABLE drivers (
    driver_id INTEGER PRIMARY KEY,
    FirstName TEXT NOT NULL,
    LastName TEXT NOT NULL,
    hired_on TEXT NOT NULL,               -- ISO date
    grade TEXT NOT NULL,                  -- 'trainee', 'driver', 'senior driver' or 'instructor'
    home_station_id INTEGER REFERENCES stations(station_id)  -- NULL for relief drivers
);
CREATE TABLE journeys (
    journey_id INTEGER PRIMARY KEY,
    line_id INTEGER NOT NULL REFERENCES lines(line_id),
    unit_id INTEGER NOT NULL REFERENCES units(unit_id),
    driver_id INTEGER NOT NULL REFERENCES drivers(driver_id),
    service_date TEXT NOT NULL,           -- ISO date
    departure_time TEXT NOT NULL,         -- HH:MM, local time
    direction TEXT NOT NULL,              -- 'outbound' (from stop 1) or 'inbound'
    status TEXT NOT NULL,                 -- 'on time', 'delayed' or 'cancelled'
    delay_minutes INTEGER,                -- arrival delay in minutes; NULL when cancelled
    passengers INTEGER                    -- passengers counted on board; NULL when cancelled
);
"""

# code, name, length_km, opened_on, traction, status, max_speed_kmh
LINES = [
    ("C1", "Coastal Line", 84.6, "1887-06-14", "electric", "active", 120),
    ("H2", "Highland Line", 112.3, "1894-10-02", "diesel", "active", 90),
    ("V3", "Valley Line", 47.9, "1902-04-10", "electric", "active", 110),
    ("A4", "Airport Link", 18.2, "2011-03-28", "electric", "active", 160),
    ("N5", "Northern Loop", 63.4, "1921-03-07", "diesel", "active", 100),
    ("B6", "Harbour Branch", 9.7, "1935-02-04", "diesel", "suspended", 40),
    ("O7", "Orchard Line", 38.5, "1968-04-29", "electric", "active", 120),
    ("L8", "Lakeside Extension", 14.0, None, "electric", "planned", 120),
]

# name, region, opened_on, platforms, elevation_m, step_free, staffed, daily_footfall
STATIONS = [
    ("Castelmoor Central", "Central", "1885-09-01", 12, 38, "yes", "yes", 41800),
    ("Castelmoor Parkway", "Central", "1998-05-17", 4, 52, "yes", "yes", 9650),
    ("Valdora Airport", "Central", "2011-03-28", 2, 61, "yes", "yes", 7300),
    ("Esterby", "Central", "1902-04-10", 2, 74, "yes", "yes", 2140),
    ("Millbrook", "Central", "1902-04-10", 2, 88, "no", "no", 860),
    ("Tanner's Cross", "Central", "1903-08-03", 1, 97, "no", "no", 410),
    ("Old Forge", "Central", "1903-08-03", 2, 112, "yes", "no", 1270),
    ("Kelmsford", "Central", "1904-11-21", 4, 126, "yes", "yes", 5480),
    ("Port Alder", "Coast", "1887-06-14", 5, 6, "yes", "yes", 12900),
    ("Saltmarsh", "Coast", "1887-06-14", 2, 3, "no", "no", 720),
    ("Gullhaven", "Coast", "1887-06-14", 3, 11, "yes", "yes", 3390),
    ("Kestrel Bay", "Coast", "1889-07-01", 2, 9, "yes", "no", 2960),
    ("Brinecliff", "Coast", "1889-07-01", 2, 47, "no", "no", 530),
    ("Sandrow", "Coast", "1890-05-12", 1, 15, "no", "no", None),
    ("Wrackton", "Coast", "1890-05-12", 2, 8, "yes", "yes", 1880),
    ("Harbour Street", "Coast", "1935-02-04", 1, 4, "no", "no", None),
    ("Dunhallow", "Highlands", "1894-10-02", 3, 164, "yes", "yes", 3050),
    ("Marrowdale", "Highlands", "1894-10-02", 2, 231, "no", "yes", 1460),
    ("Stonefold", "Highlands", "1894-10-02", 1, 302, "no", "no", 240),
    ("Glenarrow", "Highlands", "1895-06-20", 3, 356, "yes", "yes", 2780),
    ("Pinecrest", "Highlands", "1895-06-20", 1, 418, "no", "no", 190),
    ("Crag Summit", "Highlands", "1896-09-15", 1, 547, "no", "no", 95),
    ("Eagle Pass", "Highlands", "1896-09-15", 1, 489, "no", "no", None),
    ("Loch Varne", "Highlands", "1897-05-30", 2, 274, "yes", "no", 620),
    ("Ben Carrick", "Highlands", "1897-05-30", 2, 318, "no", "yes", 880),
    ("Northgate", "North", "1921-03-07", 3, 143, "yes", "yes", 2310),
    ("Fallowmere", "North", "1921-03-07", 2, 158, "yes", "yes", 1650),
    ("Ashby Fen", "North", "1921-03-07", 1, 12, "no", "no", 330),
    ("Lornwick", "North", "1922-09-18", 2, 64, "yes", "yes", 1980),
    ("Coldharbour", "North", "1922-09-18", 1, 95, "no", "no", 270),
    ("Wintersett", "North", "1922-09-18", 2, 131, "no", "no", 410),
    ("Rookmoor", "North", "1923-01-15", 1, 176, "no", "no", None),
    ("Hollin Green", "North", "1923-01-15", 2, 149, "yes", "no", 740),
    ("Brennick", "South", "1968-04-29", 2, 67, "yes", "yes", 2450),
    ("Orchardleigh", "South", "1968-04-29", 2, 58, "yes", "yes", 1720),
    ("Applecombe", "South", "1968-04-29", 1, 49, "yes", "no", 560),
    ("Hopfield", "South", "1969-06-02", 1, 44, "no", "no", 390),
    ("Cherrybank", "South", "1969-06-02", 2, 39, "yes", "no", 810),
    ("Vinebridge", "South", "1969-06-02", 2, 33, "yes", "yes", 1340),
    ("Meadowford", "South", "1970-10-11", 3, 27, "yes", "yes", 2080),
    ("Lakeshore", "South", None, 2, 22, "yes", None, None),
]

# the stations of each line, first to last
LINE_STOPS = {
    "C1": ["Castelmoor Central", "Port Alder", "Saltmarsh", "Gullhaven", "Kestrel Bay",
           "Brinecliff", "Sandrow", "Wrackton"],
    "H2": ["Castelmoor Central", "Dunhallow", "Marrowdale", "Stonefold", "Glenarrow",
           "Pinecrest", "Crag Summit", "Eagle Pass", "Loch Varne", "Ben Carrick"],
    "V3": ["Castelmoor Central", "Esterby", "Millbrook", "Tanner's Cross", "Old Forge", "Kelmsford"],
    "A4": ["Castelmoor Central", "Castelmoor Parkway", "Valdora Airport"],
    "N5": ["Kelmsford", "Northgate", "Fallowmere", "Ashby Fen", "Lornwick", "Coldharbour",
           "Wintersett", "Rookmoor", "Hollin Green"],
    "B6": ["Port Alder", "Harbour Street"],
    "O7": ["Castelmoor Parkway", "Brennick", "Orchardleigh", "Applecombe", "Hopfield",
           "Cherrybank", "Vinebridge", "Meadowford"],
    "L8": ["Meadowford", "Lakeshore"],
}

# name, manufacturer, introduced_year, seats, max_speed_kmh, traction, cars_per_unit
TRAIN_CLASSES = [
    ("Class 31 Kestrel", "Brandt Waggonbau", 1979, 148, 120, "diesel", 2),
    ("Class 44 Heron", "Northlight Rail Works", 1996, 212, 140, "electric", 3),
    ("Class 52 Osprey", "Northlight Rail Works", 2008, 276, 160, "electric", 4),
    ("Class 58 Wren", "Castelmoor Locomotive Co.", 1988, 96, 100, "diesel", 1),
    ("Class 61 Curlew", "Aurel Ferroviaria", 2015, 184, 120, "hybrid", 3),
    ("Class 70 Swift", "Aurel Ferroviaria", 2021, 240, 160, "electric", 4),
]

# fleet_number, class_name, built_on, status, depot_name (mileage is generated)
UNITS = [
    ("31101", "Class 31 Kestrel", "1979-05-14", "in service", "Glenarrow Depot"),
    ("31102", "Class 31 Kestrel", "1979-06-02", "in service", "Glenarrow Depot"),
    ("31103", "Class 31 Kestrel", "1979-08-21", "overhaul", "Glenarrow Depot"),
    ("31104", "Class 31 Kestrel", "1980-01-09", "in service", "Glenarrow Depot"),
    ("31105", "Class 31 Kestrel", "1980-03-30", "in service", "Port Alder Sidings"),
    ("31106", "Class 31 Kestrel", "1980-07-17", "stored", "Port Alder Sidings"),
    ("44201", "Class 44 Heron", "1996-02-12", "in service", "Castelmoor Depot"),
    ("44202", "Class 44 Heron", "1996-04-03", "in service", "Castelmoor Depot"),
    ("44203", "Class 44 Heron", "1996-06-25", "in service", "Castelmoor Depot"),
    ("44204", "Class 44 Heron", "1996-09-10", "overhaul", "Castelmoor Depot"),
    ("44205", "Class 44 Heron", "1997-01-22", "in service", "Port Alder Sidings"),
    ("44206", "Class 44 Heron", "1997-03-15", "in service", "Port Alder Sidings"),
    ("44207", "Class 44 Heron", "1997-05-08", "withdrawn", "Port Alder Sidings"),
    ("52301", "Class 52 Osprey", "2008-03-04", "in service", "Castelmoor Depot"),
    ("52302", "Class 52 Osprey", "2008-04-29", "in service", "Castelmoor Depot"),
    ("52303", "Class 52 Osprey", "2008-07-16", "in service", "Castelmoor Depot"),
    ("52304", "Class 52 Osprey", "2008-10-01", "in service", "Castelmoor Depot"),
    ("52305", "Class 52 Osprey", "2009-02-11", "overhaul", "Castelmoor Depot"),
    ("58401", "Class 58 Wren", "1988-04-18", "withdrawn", "Glenarrow Depot"),
    ("58402", "Class 58 Wren", "1988-05-30", "withdrawn", "Glenarrow Depot"),
    ("58403", "Class 58 Wren", "1988-08-12", "stored", "Port Alder Sidings"),
    ("58404", "Class 58 Wren", "1989-01-26", "in service", "Glenarrow Depot"),
    ("61501", "Class 61 Curlew", "2015-06-08", "in service", "Glenarrow Depot"),
    ("61502", "Class 61 Curlew", "2015-07-20", "in service", "Glenarrow Depot"),
    ("61503", "Class 61 Curlew", "2015-09-14", "in service", "Glenarrow Depot"),
    ("61504", "Class 61 Curlew", "2016-02-02", "in service", "Castelmoor Depot"),
    ("61505", "Class 61 Curlew", "2016-03-28", "in service", "Castelmoor Depot"),
    ("61506", "Class 61 Curlew", "2016-05-19", "overhaul", "Glenarrow Depot"),
    ("70601", "Class 70 Swift", "2021-09-06", "in service", "Castelmoor Depot"),
    ("70602", "Class 70 Swift", "2021-11-15", "in service", "Castelmoor Depot"),
    ("70603", "Class 70 Swift", "2022-02-07", "in service", "Castelmoor Depot"),
    ("70604", "Class 70 Swift", "2024-02-19", "in service", "Castelmoor Depot"),
]

# FirstName, LastName, hired_on, grade, home station (None: relief driver)
DRIVERS = [
    ("Agnes", "Morrow", "1998-04-06", "instructor", "Castelmoor Central"),
    ("Bram", "Fielding", "2004-09-13", "senior driver", "Glenarrow"),
    ("Cora", "Lindahl", "2011-02-28", "driver", "Port Alder"),
    ("Dmitri", "Vasko", "2016-07-04", "driver", "Kelmsford"),
    ("Elin", "Haverford", "2001-03-19", "senior driver", "Castelmoor Central"),
    ("Farid", "Noor", "2019-10-07", "driver", "Brennick"),
    ("Greta", "Tolland", "1994-11-21", "instructor", "Dunhallow"),
    ("Hamish", "Dunmore", "2008-05-26", "senior driver", "Glenarrow"),
    ("Ines", "Cardoso", "2022-01-10", "trainee", "Castelmoor Parkway"),
    ("Jonas", "Brekke", "2013-08-12", "driver", "Northgate"),
    ("Keira", "Aldous", "2017-04-24", "driver", "Gullhaven"),
    ("Lars", "Whitcombe", "1999-06-14", "senior driver", "Kelmsford"),
    ("Maeve", "Ferris", "2023-09-04", "trainee", None),
    ("Niall", "Okafor", "2014-12-01", "driver", "Meadowford"),
    ("Orla", "Penhaligon", "2006-03-06", "senior driver", "Port Alder"),
    ("Pieter", "Van Loon", "2020-05-18", "driver", "Castelmoor Central"),
    ("Quinn", "Ashdown", "2012-10-29", "driver", None),
    ("Rosa", "Delgado", "2009-01-19", "senior driver", "Lornwick"),
    ("Samir", "Haddad", "2018-08-27", "driver", "Esterby"),
    ("Tilde", "Fairbairn", "2002-07-08", "senior driver", "Marrowdale"),
    ("Ulric", "Stone", "2021-03-15", "driver", "Orchardleigh"),
    ("Vera", "Mallory", "1996-10-14", "instructor", "Castelmoor Central"),
    ("Wendell", "Price", "2015-05-11", "driver", "Wrackton"),
    ("Yara", "Kestner", "2023-02-20", "trainee", "Castelmoor Central"),
    ("Zofia", "Nowak", "2010-06-07", "senior driver", "Fallowmere"),
    ("Callum", "Reid", "2016-11-28", "driver", None),
    ("Hannah", "Morrow", "2020-02-03", "driver", "Vinebridge"),
    ("Tobias", "Grange", "2007-09-24", "senior driver", "Loch Varne"),
]

# which classes may run on a line of each traction
CLASSES_FOR_TRACTION = {
    "electric": {"Class 44 Heron", "Class 52 Osprey", "Class 70 Swift", "Class 61 Curlew"},
    "diesel": {"Class 31 Kestrel", "Class 58 Wren", "Class 61 Curlew"},
}
# relative number of journeys per active line in the sample month
JOURNEY_WEIGHTS = {"C1": 22, "H2": 12, "V3": 16, "A4": 20, "N5": 10, "O7": 14}
JOURNEY_COUNT = 360


def build_database(rng: random.Random) -> None:
    if DB_PATH.exists():
        DB_PATH.unlink()
    con = sqlite3.connect(DB_PATH)
    con.executescript(SCHEMA)
    line_ids = {}
    for i, row in enumerate(LINES, start=1):
        con.execute("INSERT INTO lines VALUES (?,?,?,?,?,?,?,?)", (i, *row))
        line_ids[row[0]] = i
    station_ids = {}
    for i, row in enumerate(STATIONS, start=1):
        con.execute("INSERT INTO stations VALUES (?,?,?,?,?,?,?,?,?)", (i, *row))
        station_ids[row[0]] = i
    for code, names in LINE_STOPS.items():
        length = next(r[2] for r in LINES if r[0] == code)
        gaps = [rng.uniform(0.6, 1.4) for _ in names[1:]]
        total, run = sum(gaps), 0.0
        for seq, name in enumerate(names, start=1):
            distance = 0.0 if seq == 1 else round(length * run / total, 1)
            if seq == len(names):
                distance = length
            con.execute("INSERT INTO line_stops VALUES (?,?,?,?)",
                        (line_ids[code], station_ids[name], seq, distance))
            if seq < len(names):
                run += gaps[seq - 1]
    class_ids = {}
    for i, row in enumerate(TRAIN_CLASSES, start=1):
        con.execute("INSERT INTO train_classes VALUES (?,?,?,?,?,?,?,?)", (i, *row))
        class_ids[row[0]] = i
    units = []
    for i, (fleet, cls, built, status, depot) in enumerate(UNITS, start=1):
        years = (dt.date(2024, 3, 1) - dt.date.fromisoformat(built)).days / 365.25
        mileage = None if years < 0.5 else int(years * rng.uniform(52000, 88000)) // 100 * 100
        con.execute("INSERT INTO units VALUES (?,?,?,?,?,?,?)",
                    (i, fleet, class_ids[cls], built, status, mileage, depot))
        units.append((i, cls, status))
    driver_ids = []
    for i, (first, last, hired, grade, home) in enumerate(DRIVERS, start=1):
        con.execute("INSERT INTO drivers VALUES (?,?,?,?,?,?)",
                    (i, first, last, hired, grade, station_ids.get(home) if home else None))
        driver_ids.append(i)
    seats = {row[0]: row[3] for row in TRAIN_CLASSES}
    codes = sorted(JOURNEY_WEIGHTS)
    weights = [JOURNEY_WEIGHTS[c] for c in codes]
    for j in range(1, JOURNEY_COUNT + 1):
        code = rng.choices(codes, weights)[0]
        traction = next(r[4] for r in LINES if r[0] == code)
        fit = [u for u in units if u[2] == "in service" and u[1] in CLASSES_FOR_TRACTION[traction]]
        unit_id, cls, _ = rng.choice(fit)
        day = dt.date(2024, 3, 1) + dt.timedelta(days=rng.randrange(31))
        hour, minute = rng.randrange(5, 23), rng.choice([0, 10, 15, 25, 30, 40, 45, 55])
        roll = rng.random()
        if roll < 0.04:
            status, delay, passengers = "cancelled", None, None
        elif roll < 0.30:
            status, delay = "delayed", rng.choice([3, 4, 5, 6, 8, 10, 12, 15, 18, 25, 40])
            passengers = rng.randrange(seats[cls] // 5, seats[cls] + 30)
        else:
            status, delay = "on time", rng.choice([0, 0, 0, 1, 2])
            passengers = rng.randrange(seats[cls] // 5, seats[cls] + 30)
        con.execute("INSERT INTO journeys VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (j, line_ids[code], unit_id, rng.choice(driver_ids), day.isoformat(),
                     f"{hour:02d}:{minute:02d}", rng.choice(["outbound", "inbound"]),
                     status, delay, passengers))
    con.commit()
    con.close()


EX = Namespace("https://valdora-rail.example/ns#")


def slug(label: str) -> URIRef:
    clean = "".join(ch if ch.isalnum() else "-" for ch in label.lower()).strip("-")
    while "--" in clean:
        clean = clean.replace("--", "-")
    return EX[clean]


CLASSES = {
    "Operator": ("railway operator", "A company that runs trains on the network."),
    "Line": ("railway line", "A named route between two terminal stations."),
    "Station": ("station", "A place where trains stop for passengers."),
    "Town": ("town", "A town or city served by the railway."),
    "TrainClass": ("train class", "A design of multiple-unit train, built as a series of units."),
    "Manufacturer": ("manufacturer", "A company that builds trains."),
    "Depot": ("depot", "A site where trains are stabled, cleaned and maintained."),
    "Structure": ("engineering structure", "A bridge, viaduct or tunnel that carries a line."),
    "Bridge": ("bridge", "A structure that carries a line over water, a road or a valley."),
    "Tunnel": ("tunnel", "A structure that carries a line through a hill or under a town."),
    "Landmark": ("landmark", "A place of interest a visitor can reach from a station."),
    "Architect": ("architect", "A person who designed station buildings."),
}
OBJECT_PROPERTIES = {
    "operatedBy": ("operated by", "The operator that runs trains on a line.", "Line", "Operator"),
    "startsAt": ("starts at", "The first station of a line.", "Line", "Station"),
    "endsAt": ("ends at", "The last station of a line.", "Line", "Station"),
    "onLine": ("on line", "A line a station or structure belongs to.", None, "Line"),
    "servesTown": ("serves town", "The town a station is in or serves.", "Station", "Town"),
    "designedBy": ("designed by", "The architect of a station's main building.", "Station", "Architect"),
    "nearStation": ("near station", "The station closest to a landmark or structure.", None, "Station"),
    "builtBy": ("built by", "The manufacturer of a train class.", "TrainClass", "Manufacturer"),
    "maintainedAt": ("maintained at", "The depot that maintains a train class.", "TrainClass", "Depot"),
    "depotIn": ("depot in", "The town a depot is in.", "Depot", "Town"),
    "headquarteredIn": ("headquartered in", "The town of an operator's head office.", "Operator", "Town"),
}
DATA_PROPERTIES = {
    "population": ("population", "Number of residents at the 2021 census.", XSD.integer),
    "lengthMetres": ("length (m)", "Length of a structure in metres.", XSD.integer),
    "completedYear": ("year completed", "The year a structure or building was completed.", XSD.integer),
    "foundedYear": ("year founded", "The year an organisation was founded.", XSD.integer),
    "country": ("country", "The country where a manufacturer has its head office.", XSD.string),
    "birthYear": ("year of birth", "The year a person was born.", XSD.integer),
    "heritageListedOn": ("heritage listed on", "The date a station building was given heritage protection.", XSD.date),
    "capacityUnits": ("capacity (units)", "How many units a depot can stable overnight.", XSD.integer),
    "openedYear": ("year opened", "The year a depot opened.", XSD.integer),
    "spans": ("spans", "What a bridge crosses or a tunnel passes under.", XSD.string),
}

# label, altLabels, comment, population
TOWNS = [
    ("Castelmoor", [], "The regional capital of Valdora and the hub of the network.", 184000),
    ("Port Alder", ["Alder"], "A fishing and ferry port at the mouth of the Alder estuary.", 41200),
    ("Gullhaven", [], "A seaside resort known for its lighthouse and sandy bay.", 12600),
    ("Dunhallow", [], "A market town at the foot of the highlands.", 18900),
    ("Glenarrow", [], "The largest highland town, home of the railway's diesel depot.", 9400),
    ("Marrowdale", [], "A village in a deep valley crossed by a tall viaduct.", 2300),
    ("Loch Varne", ["Varne"], "A lakeside village popular with walkers.", 1150),
    ("Kelmsford", [], "A mill town where the Valley Line meets the Northern Loop.", 27300),
    ("Esterby", [], "A commuter town in the Ester valley.", 15800),
    ("Fallowmere", [], "A farming town among the northern meres.", 8700),
    ("Lornwick", [], "A former coal town on the Northern Loop.", 11200),
    ("Brennick", [], "A growing suburb south of Castelmoor.", 23400),
    ("Orchardleigh", [], "The centre of the southern cider orchards.", 6100),
    ("Meadowford", [], "A river town at the end of the Orchard Line.", 9800),
]

# label, altLabels, comment, town, architect, completed year, heritage listed on, lines
GRAPH_STATIONS = [
    ("Castelmoor Central", ["Castelmoor", "Central"], "The main terminus of the network, under a glass and iron train shed.",
     "Castelmoor", "Edmund Hollis", 1885, "1972-05-04", ["Coastal Line", "Highland Line", "Valley Line", "Airport Link"]),
    ("Castelmoor Parkway", ["Parkway"], "A park-and-ride station on the southern edge of Castelmoor.",
     "Castelmoor", "Margit Lindqvist", 1998, None, ["Airport Link", "Orchard Line"]),
    ("Valdora Airport", ["Airport station"], "An underground station beneath the airport terminal.",
     None, "Margit Lindqvist", 2011, None, ["Airport Link"]),
    ("Port Alder", ["Alder Quay"], "A harbour station where the Coastal Line meets the Harbour Branch.",
     "Port Alder", "Edmund Hollis", 1887, "1981-09-22", ["Coastal Line", "Harbour Branch"]),
    ("Harbour Street", [], "A single-platform station by the ferry quay; closed while the branch is suspended.",
     "Port Alder", None, 1935, None, ["Harbour Branch"]),
    ("Gullhaven", [], "A seaside station with a long canopy facing the bay.",
     "Gullhaven", "Edmund Hollis", 1887, "1990-03-15", ["Coastal Line"]),
    ("Wrackton", [], "The southern terminus of the Coastal Line.",
     None, None, 1890, None, ["Coastal Line"]),
    ("Saltmarsh", [], "A request stop on an embankment across the marshes.",
     None, None, 1887, None, ["Coastal Line"]),
    ("Dunhallow", [], "The gateway station to the highlands.",
     "Dunhallow", "Thomas Brayne", 1894, None, ["Highland Line"]),
    ("Marrowdale", [], "A stone station at the north end of the Marrowdale Viaduct.",
     "Marrowdale", "Thomas Brayne", 1894, "1987-06-30", ["Highland Line"]),
    ("Glenarrow", [], "A highland junction station with a timber booking hall.",
     "Glenarrow", "Thomas Brayne", 1895, "1979-11-08", ["Highland Line"]),
    ("Crag Summit", ["the Summit"], "The highest station on the network, just south of the summit tunnel.",
     None, "Thomas Brayne", 1896, None, ["Highland Line"]),
    ("Loch Varne", [], "A lakeside station with a pier for the loch steamer.",
     "Loch Varne", None, 1897, None, ["Highland Line"]),
    ("Ben Carrick", [], "The northern terminus of the Highland Line.",
     None, None, 1897, None, ["Highland Line"]),
    ("Esterby", [], "The first stop on the Valley Line.",
     "Esterby", None, 1902, None, ["Valley Line"]),
    ("Old Forge", [], "A station next to the old ironworks, now a museum.",
     None, None, 1903, None, ["Valley Line"]),
    ("Kelmsford", [], "Junction of the Valley Line and the Northern Loop.",
     "Kelmsford", "Edmund Hollis", 1904, None, ["Valley Line", "Northern Loop"]),
    ("Fallowmere", [], "A station on a causeway between two meres.",
     "Fallowmere", None, 1921, None, ["Northern Loop"]),
    ("Lornwick", [], "A former colliery station on the Northern Loop.",
     "Lornwick", None, 1922, None, ["Northern Loop"]),
    ("Brennick", [], "A suburban station with a large bus interchange.",
     "Brennick", None, 1968, None, ["Orchard Line"]),
    ("Orchardleigh", [], "A small station among the cider orchards.",
     "Orchardleigh", None, 1968, None, ["Orchard Line"]),
    ("Meadowford", [], "The southern terminus of the Orchard Line.",
     "Meadowford", None, 1970, None, ["Orchard Line", "Lakeside Extension"]),
    ("Kestrel Bay", [], "A station above the bay, with steps down to the beach.",
     None, None, 1889, None, ["Coastal Line"]),
]

# line label -> altLabels, comment, first station, last station
GRAPH_LINES = {
    "Coastal Line": (["C1", "the Coast Road"], "Follows the shore from Castelmoor to Wrackton.", "Castelmoor Central", "Wrackton"),
    "Highland Line": (["H2", "the Heather Line"], "Climbs from Castelmoor into the highlands; the steepest line of the network.", "Castelmoor Central", "Ben Carrick"),
    "Valley Line": (["V3"], "Runs up the Ester valley to the mill town of Kelmsford.", "Castelmoor Central", "Kelmsford"),
    "Airport Link": (["A4", "the Airport Express"], "A fast electric shuttle between the city and the airport.", "Castelmoor Central", "Valdora Airport"),
    "Northern Loop": (["N5"], "Links the former coal towns of the north.", "Kelmsford", None),
    "Harbour Branch": (["B6"], "A short branch to the ferry quay; suspended since a sea wall failed in 2022.", "Port Alder", "Harbour Street"),
    "Orchard Line": (["O7", "the Cider Line"], "Runs south through the orchards to Meadowford.", "Castelmoor Parkway", "Meadowford"),
    "Lakeside Extension": (["L8"], "A planned extension of the Orchard Line from Meadowford to the lake.", "Meadowford", None),
}

# label, altLabels, type, length_m, completed year, spans, line, near station, comment
STRUCTURES = [
    ("Marrowdale Viaduct", ["the Nine Arches"], "Bridge", 412, 1893, "the River Marrow", "Highland Line", "Marrowdale",
     "A curved stone viaduct of nine arches, 38 metres above the river."),
    ("Crag Summit Tunnel", ["Summit Tunnel"], "Tunnel", 2710, 1896, "Crag Fell", "Highland Line", "Crag Summit",
     "The longest tunnel on the network, under the highland watershed."),
    ("Alder Estuary Bridge", [], "Bridge", 1240, 1887, "the Alder estuary", "Coastal Line", "Port Alder",
     "A low girder bridge on stone piers across the estuary."),
    ("Saltmarsh Swing Bridge", [], "Bridge", 86, 1886, "the Salt Cut canal", "Coastal Line", "Saltmarsh",
     "A swing bridge that still opens for barges in summer."),
    ("Brinecliff Tunnel", [], "Tunnel", 530, 1889, "Brine Head", "Coastal Line", "Kestrel Bay",
     "A short tunnel through the chalk headland."),
    ("Esterby Tunnel", [], "Tunnel", 640, 1901, "Esterby Hill", "Valley Line", "Esterby",
     "A brick tunnel at the mouth of the Ester valley."),
    ("Fallowmere Causeway Bridge", [], "Bridge", 298, 1920, "Fallow Mere", "Northern Loop", "Fallowmere",
     "A concrete bridge that carries the line between the two meres."),
    ("Hopfield Viaduct", [], "Bridge", 175, 1967, "the Hop valley", "Orchard Line", None,
     "A concrete viaduct, the newest large structure on the network."),
]

# label, altLabels, comment, near station
LANDMARKS = [
    ("Castelmoor Cathedral", [], "A Gothic cathedral five minutes' walk from the main station.", "Castelmoor Central"),
    ("Gullhaven Lighthouse", ["the White Tower"], "A working lighthouse on the point, open to visitors in summer.", "Gullhaven"),
    ("Kestrel Bay Aquarium", [], "A small aquarium of local sea life above the beach.", "Kestrel Bay"),
    ("Varne Falls", [], "A waterfall on the walk from Loch Varne station to the loch's head.", "Loch Varne"),
    ("Carrick Observatory", [], "A mountain-top weather observatory reached by a path from Ben Carrick.", "Ben Carrick"),
    ("Old Forge Ironworks Museum", ["Ironworks Museum"], "The former ironworks, now a museum of the valley's industry.", "Old Forge"),
    ("Orchardleigh Cider Mill", [], "A working cider mill with tastings in autumn.", "Orchardleigh"),
    ("Lornwick Pit Head", [], "The preserved winding gear of Lornwick colliery.", "Lornwick"),
]

# label, altLabels, comment, birth year
ARCHITECTS = [
    ("Edmund Hollis", [], "Chief architect of the railway's first stations, in red brick and iron.", 1841),
    ("Thomas Brayne", [], "Designed the highland stations in local stone and timber.", 1852),
    ("Margit Lindqvist", [], "Designed the railway's modern stations in glass and concrete.", 1961),
]

# label, altLabels, comment, country, founded year
MANUFACTURERS = [
    ("Brandt Waggonbau", ["Brandt"], "A builder of diesel railcars.", "Germany", 1921),
    ("Northlight Rail Works", ["Northlight"], "A builder of electric trains with a factory in Kelmsford.", "Valdora", 1952),
    ("Castelmoor Locomotive Co.", ["CLC", "Castelmoor Loco"], "A local builder of small railcars; closed in 1997.", "Valdora", 1874),
    ("Aurel Ferroviaria", ["Aurel"], "A builder of electric and bi-mode trains.", "Italy", 1954),
]

# label -> altLabels, comment, depot
GRAPH_TRAIN_CLASSES = {
    "Class 31 Kestrel": (["Kestrel"], "A two-car diesel railcar, the workhorse of the highland services.", "Glenarrow Depot"),
    "Class 44 Heron": (["Heron"], "A three-car electric unit for the coastal and valley services.", "Castelmoor Depot"),
    "Class 52 Osprey": (["Osprey"], "A four-car electric unit with air conditioning.", "Castelmoor Depot"),
    "Class 58 Wren": (["Wren", "the Bubble Car"], "A single-car diesel railcar, mostly retired.", "Glenarrow Depot"),
    "Class 61 Curlew": (["Curlew"], "A bi-mode unit that runs under wires or on diesel.", "Glenarrow Depot"),
    "Class 70 Swift": (["Swift"], "The newest electric unit, bought for the Airport Link.", "Castelmoor Depot"),
}

# label, altLabels, comment, town, capacity units, opened year
DEPOTS = [
    ("Castelmoor Depot", [], "The main electric depot, beside the Airport Link.", "Castelmoor", 24, 1995),
    ("Glenarrow Depot", [], "The diesel depot of the highlands.", "Glenarrow", 14, 1896),
    ("Port Alder Sidings", ["the Sidings"], "Open-air sidings by the harbour for stored trains.", "Port Alder", 10, 1887),
]


def add_thing(g: Graph, label: str, cls: str, comment: str, alt: list[str] = ()) -> URIRef:
    node = slug(label)
    g.add((node, RDF.type, EX[cls]))
    g.add((node, RDFS.label, Literal(label)))
    g.add((node, RDFS.comment, Literal(comment)))
    for a in alt:
        g.add((node, SKOS.altLabel, Literal(a)))
    return node


def build_graph() -> None:
    g = Graph()
    g.bind("vr", EX)
    g.bind("skos", SKOS)
    g.bind("owl", OWL)
    for name, (label, comment) in CLASSES.items():
        g.add((EX[name], RDF.type, OWL.Class))
        g.add((EX[name], RDFS.label, Literal(label)))
        g.add((EX[name], RDFS.comment, Literal(comment)))
    for sub in ("Bridge", "Tunnel"):
        g.add((EX[sub], RDFS.subClassOf, EX.Structure))
    for name, (label, comment, domain, rng_) in OBJECT_PROPERTIES.items():
        g.add((EX[name], RDF.type, OWL.ObjectProperty))
        g.add((EX[name], RDFS.label, Literal(label)))
        g.add((EX[name], RDFS.comment, Literal(comment)))
        if domain:
            g.add((EX[name], RDFS.domain, EX[domain]))
        g.add((EX[name], RDFS.range, EX[rng_]))
    for name, (label, comment, dtype) in DATA_PROPERTIES.items():
        g.add((EX[name], RDF.type, OWL.DatatypeProperty))
        g.add((EX[name], RDFS.label, Literal(label)))
        g.add((EX[name], RDFS.comment, Literal(comment)))
        g.add((EX[name], RDFS.range, dtype))

    towns = {}
    for label, alt, comment, population in TOWNS:
        # a town and its station may share a label: the station's address says "station-"
        towns[label] = add_thing(g, label, "Town", comment, alt)
        g.add((towns[label], EX.population, Literal(population, datatype=XSD.integer)))
    operator = add_thing(g, "Valdora Regional Railway", "Operator",
                         "The publicly owned operator of every line in Valdora.", ["VRR"])
    g.add((operator, EX.foundedYear, Literal(1884, datatype=XSD.integer)))
    g.add((operator, EX.headquarteredIn, towns["Castelmoor"]))

    lines = {}
    for label, (alt, comment, _first, _last) in GRAPH_LINES.items():
        lines[label] = add_thing(g, label, "Line", comment, alt)
        g.add((lines[label], EX.operatedBy, operator))
    architects = {}
    for label, alt, comment, born in ARCHITECTS:
        architects[label] = add_thing(g, label, "Architect", comment, alt)
        g.add((architects[label], EX.birthYear, Literal(born, datatype=XSD.integer)))
    stations = {}
    for label, alt, comment, town, architect, year, listed, on_lines in GRAPH_STATIONS:
        node = EX["station-" + slug(label).split("#")[-1]]
        g.add((node, RDF.type, EX.Station))
        g.add((node, RDFS.label, Literal(label)))
        g.add((node, RDFS.comment, Literal(comment)))
        for a in alt:
            g.add((node, SKOS.altLabel, Literal(a)))
        stations[label] = node
        if town:
            g.add((node, EX.servesTown, towns[town]))
        if architect:
            g.add((node, EX.designedBy, architects[architect]))
        g.add((node, EX.completedYear, Literal(year, datatype=XSD.integer)))
        if listed:
            g.add((node, EX.heritageListedOn, Literal(listed, datatype=XSD.date)))
        for line in on_lines:
            g.add((node, EX.onLine, lines[line]))
    for label, (_alt, _comment, first, last) in GRAPH_LINES.items():
        if first:
            g.add((lines[label], EX.startsAt, stations[first]))
        if last:
            g.add((lines[label], EX.endsAt, stations[last]))
    for label, alt, kind, length, year, spans, line, near, comment in STRUCTURES:
        node = add_thing(g, label, kind, comment, alt)
        g.add((node, EX.lengthMetres, Literal(length, datatype=XSD.integer)))
        g.add((node, EX.completedYear, Literal(year, datatype=XSD.integer)))
        g.add((node, EX.spans, Literal(spans)))
        g.add((node, EX.onLine, lines[line]))
        if near:
            g.add((node, EX.nearStation, stations[near]))
    for label, alt, comment, near in LANDMARKS:
        node = add_thing(g, label, "Landmark", comment, alt)
        g.add((node, EX.nearStation, stations[near]))
    makers = {}
    for label, alt, comment, country, founded in MANUFACTURERS:
        makers[label] = add_thing(g, label, "Manufacturer", comment, alt)
        g.add((makers[label], EX.country, Literal(country)))
        g.add((makers[label], EX.foundedYear, Literal(founded, datatype=XSD.integer)))
    depots = {}
    for label, alt, comment, town, capacity, opened in DEPOTS:
        depots[label] = add_thing(g, label, "Depot", comment, alt)
        g.add((depots[label], EX.depotIn, towns[town]))
        g.add((depots[label], EX.capacityUnits, Literal(capacity, datatype=XSD.integer)))
        g.add((depots[label], EX.openedYear, Literal(opened, datatype=XSD.integer)))
    for label, manufacturer, *_rest in TRAIN_CLASSES:
        alt, comment, depot = GRAPH_TRAIN_CLASSES[label]
        node = add_thing(g, label, "TrainClass", comment, alt)
        g.add((node, EX.builtBy, makers[manufacturer]))
        g.add((node, EX.maintainedAt, depots[depot]))
    g.serialize(TTL_PATH, format="turtle")


def main() -> None:
    rng = random.Random(SEED)
    build_database(rng)
    build_graph()
    print(f"wrote {DB_PATH.name} and {TTL_PATH.name}")


if __name__ == "__main__":
    main()
