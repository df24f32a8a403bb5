package mocksikka

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Default sizes of each practice's synthetic data set.
const (
	// DefaultDataSeed is the seed of the synthetic data when WithDataSeed is not given.
	DefaultDataSeed = 1
	// DefaultDataPatients is how many patients each practice has by default.
	DefaultDataPatients = 250
	// DefaultDataAppointments is how many appointments each practice has by default.
	DefaultDataAppointments = 600
	// MaxDataRows is the largest patient or appointment count WithDataSize accepts.
	MaxDataRows = 2_000_000
)

// dataConfig is how the practice data is made: the seed, the sizes and the fixtures applied
// after generation.
type dataConfig struct {
	seed                   int64
	seedSet                bool
	patients, appointments int // 0: the default
	fixtures               []DataFixture
}

// WithDataSeed sets the seed of every practice's synthetic data (default DefaultDataSeed). The
// same seed and the same mock-clock date give the same data, byte for byte; each practice's
// data also depends on its office id and practice id.
func WithDataSeed(seed int64) Option {
	return func(c *config) { c.data.seed, c.data.seedSet = seed, true }
}

// WithDataSize sets how many patients and appointments each practice's synthetic data has
// (defaults DefaultDataPatients, DefaultDataAppointments; 0 keeps the size in force). The other tables
// follow: about one transaction per completed appointment and half as many payments, claims
// for insured patients' recent visits, a treatment plan for about a fifth of the patients, a
// medical note for a quarter of the visits, one balance per patient. Appointments fill business
// days from appointments/8 days (at least 30, at most 180) before the mock clock's date to a
// third as many after it; eight operatories, or more when the appointments need them. The data
// is made under the mock's lock when it is first read: that request, and any other meanwhile,
// waits for it (about 3 s for 100,000 patients and 200,000 appointments; 226 MB of heap). New panics on a negative size or one above
// MaxDataRows.
func WithDataSize(patients, appointments int) Option {
	return func(c *config) {
		if patients != 0 {
			c.data.patients = patients
		}
		if appointments != 0 {
			c.data.appointments = appointments
		}
	}
}

// WithDataFixture applies fixtures to the generated data of their practices, in order, when
// that data is first used (and again after each Reset); see DataFixture. New panics on a
// fixture for a practice that is not configured, or with unknown table or field names.
func WithDataFixture(fixtures ...DataFixture) Option {
	return func(c *config) { c.data.fixtures = append(c.data.fixtures, fixtures...) }
}

// check reports a size out of range or a fixture that cannot apply.
func (dc dataConfig) check(ps []Practice) error {
	if dc.patients < 0 || dc.appointments < 0 || dc.patients > MaxDataRows || dc.appointments > MaxDataRows {
		return fmt.Errorf("data sizes must be from 0 to %d: %w", MaxDataRows, ErrInvalid)
	}
	for _, f := range dc.fixtures {
		if !slices.ContainsFunc(ps, func(p Practice) bool { return p.OfficeID == f.OfficeID && p.PracticeID == f.practiceID() }) {
			return fmt.Errorf("data fixture for practice %s/%s: no such practice is configured: %w", f.OfficeID, f.practiceID(), ErrInvalid)
		}
		if err := f.check(); err != nil {
			return err
		}
	}
	return nil
}

// generateLocked builds p's data set: synthetic data from the seed (unless a fixture replaces
// it), then the configured fixtures of p. The caller holds s.mu.
func (s *Server) generateLocked(p Practice) *practiceData {
	dc := s.initial.data
	d := newPracticeData(p.OfficeID, p.PracticeID)
	replaced := slices.ContainsFunc(dc.fixtures, func(f DataFixture) bool {
		return f.Replace && f.OfficeID == p.OfficeID && f.practiceID() == p.PracticeID
	})
	now := s.clock.now()
	if !replaced {
		seed := int64(DefaultDataSeed)
		if dc.seedSet {
			seed = dc.seed
		}
		np, na := dc.patients, dc.appointments
		if np == 0 {
			np = DefaultDataPatients
		}
		if na == 0 {
			na = DefaultDataAppointments
		}
		newGenerator(p, seed, now).run(d, np, na)
	}
	for _, f := range dc.fixtures {
		if f.OfficeID == p.OfficeID && f.practiceID() == p.PracticeID {
			_ = d.apply(f, now) // checked by New
		}
	}
	return d
}

// generator makes one practice's synthetic data.
type generator struct {
	p     Practice
	rng   *rand.Rand
	today time.Time // midnight UTC of the mock clock's date
	now   time.Time
	cust  string

	providers  []genProvider
	ops        []string
	patients   []genPatient
	appts      []genAppt
	insurers   []insurer
	cols       map[string][]string // reused row buffers by table
	procedures []procedure
	days       map[int]string      // day(n), remembered
	pastDays   int                 // the schedule's reach before today
	futureDays int                 // and after it
	amounts    map[[2]int64]string // amount(cents, decimals), remembered
}

type genProvider struct{ id, first, last, kind string }

type genPatient struct {
	id, first, last, guarantor, gFirst, gLast, provider, insurer string
	cell, email, chart, address                                  string
	firstVisit, lastVisit                                        int // day index from today; 0 none
	hasVisit                                                     bool
	balance                                                      [2][4]int64 // [patient|insurance][bucket] cents
}

type genAppt struct {
	day        int // days from today (negative: past)
	unit       int // half hours from 08:00
	units      int
	op         int
	patient    int
	provider   string
	procs      []int
	status     string
	madeBefore int // days before the appointment it was booked
}

type insurer struct{ id, name, payer string }

type procedure struct {
	code, desc, kind string
	cents            int64
	minutes          int
	hygiene          bool
	category         string
}

var (
	firstNamesF = []string{"Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper", "Evelyn", "Abigail", "Emily", "Ella", "Elizabeth", "Camila", "Luna", "Sofia", "Avery", "Mila", "Aria", "Scarlett", "Penelope", "Layla", "Chloe", "Victoria", "Madison", "Eleanor", "Grace", "Nora", "Riley", "Zoey", "Hannah", "Hazel", "Lily", "Ellie", "Violet", "Lillian", "Zoe", "Stella", "Aurora", "Natalie", "Emilia", "Everly", "Leah", "Aubrey", "Willow", "Addison", "Lucy", "Audrey", "Bella", "Carlene", "Priya", "Mei", "Fatima", "Chantal", "Genevieve"}
	firstNamesM = []string{"Liam", "Noah", "Oliver", "William", "Elijah", "James", "Benjamin", "Lucas", "Mason", "Ethan", "Alexander", "Henry", "Jacob", "Michael", "Daniel", "Logan", "Jackson", "Sebastian", "Jack", "Aiden", "Owen", "Samuel", "Matthew", "Joseph", "Levi", "Mateo", "David", "John", "Wyatt", "Carter", "Julian", "Luke", "Grayson", "Isaac", "Jayden", "Theodore", "Gabriel", "Anthony", "Dylan", "Leo", "Lincoln", "Jaxon", "Asher", "Christopher", "Josiah", "Andrew", "Thomas", "Joshua", "Ezra", "Hudson", "Raj", "Wei", "Omar", "Mathieu", "Etienne"}
	lastNames   = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Tremblay", "Gagnon", "Roy", "Cote", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagne", "Patel", "Singh", "Chen", "Wong", "Kim", "Li", "MacDonald", "Campbell", "Stewart", "Murphy"}
	streets     = []string{"Maple Ave", "Oak Street", "Pine Road", "Cedar Lane", "Elm Street", "Birch Drive", "Willow Way", "King Street", "Queen Street", "Church Street", "Victoria Road", "Park Avenue", "Lakeshore Blvd", "Main Street", "Highland Ave", "Hillcrest Drive", "Spruce Court", "Sunset Blvd", "River Road", "College Street"}
	insurers    = []insurer{{"101", "Sun Life Financial", "SLF01"}, {"102", "Manulife", "MLF02"}, {"103", "Canada Life", "CLF03"}, {"104", "Delta Dental", "DDP04"}, {"105", "Cigna Dental", "CIG05"}, {"106", "MetLife", "MET06"}, {"107", "Aetna", "AET07"}, {"108", "Blue Cross", "BCB08"}}
	procedures  = []procedure{
		{"D0120", "Periodic oral evaluation", "Exam", 6500, 30, false, "Diagnostic"},
		{"D0150", "Comprehensive oral evaluation", "Exam", 9500, 60, false, "Diagnostic"},
		{"D0210", "Intraoral - complete series of radiographic images", "Exam", 15000, 30, true, "Diagnostic"},
		{"D0274", "Bitewings - four radiographic images", "Hygiene", 7500, 30, true, "Diagnostic"},
		{"D1110", "Prophylaxis - adult", "Hygiene", 11000, 60, true, "Preventive"},
		{"D1120", "Prophylaxis - child", "Hygiene", 8000, 30, true, "Preventive"},
		{"D1208", "Topical application of fluoride", "Hygiene", 2400, 30, true, "Preventive"},
		{"D2391", "Resin-based composite - one surface, posterior", "Restorative", 18500, 60, false, "Basic Restorative"},
		{"D2392", "Resin-based composite - two surfaces, posterior", "Restorative", 23000, 60, false, "Basic Restorative"},
		{"D2740", "Crown - porcelain/ceramic", "Restorative", 125000, 90, false, "Crowns"},
		{"D3330", "Endodontic therapy, molar tooth", "Endo", 110000, 90, false, "Endodontics"},
		{"D4341", "Periodontal scaling and root planing - four or more teeth per quadrant", "Perio", 25000, 60, true, "Periodontics"},
		{"D7140", "Extraction, erupted tooth or exposed root", "Surgery", 18000, 30, false, "Oral Surgery"},
	}
	coverage = []struct {
		category, from, to string
		pct                int
	}{
		{"Diagnostic", "D0100", "D0999", 100}, {"Preventive", "D1000", "D1999", 100},
		{"Basic Restorative", "D2000", "D2399", 80}, {"Crowns", "D2700", "D2799", 50},
		{"Endodontics", "D3000", "D3999", 80}, {"Periodontics", "D4000", "D4999", 80},
		{"Prosthodontics", "D5000", "D5899", 50}, {"Oral Surgery", "D7000", "D7999", 80},
		{"Orthodontics", "D8000", "D8999", 50},
	}
	paymentTypes = [][2]string{{"1", "Cash Payment"}, {"2", "Check Payment"}, {"3", "Credit Card Payment"}, {"4", "Debit Card Payment"}, {"5", "Insurance Check Payment"}, {"2.93", "ERA Payment by EFT"}, {"7", "Courtesy Adjustment"}, {"8", "Insurance Write-off Adjustment"}}
	// apptStatuses are the values of practice_variables "Appointment Status", which
	// appointments use.
	apptStatuses = []string{"Scheduled", "Confirmed", "Left Message", "Arrived", "Completed", "Cancelled", "Broken"}
)

// Schedule shape: business hours 08:00-17:00 in half hours, Monday to Friday, from pastDays
// before today to futureDays after it (generator fields: pastDays = appointments/8 between 30
// and maxPastDays, futureDays a third of it), so that a small practice still has a busy day.
const (
	dayUnits    = 18
	maxPastDays = 180 // the schedule reaches back at most this many days
)

func newGenerator(p Practice, seed int64, now time.Time) *generator {
	h := fnv.New64a()
	h.Write([]byte(p.OfficeID + "\x00" + p.PracticeID))
	y, m, dd := now.UTC().Date()
	return &generator{
		p: p, rng: rand.New(rand.NewPCG(uint64(seed), h.Sum64())),
		today: time.Date(y, m, dd, 0, 0, 0, 0, time.UTC), now: now,
		cust: p.CustomerID, cols: map[string][]string{}, days: map[int]string{}, amounts: map[[2]int64]string{}, insurers: insurers, procedures: procedures,
	}
}

// pick returns a random element of list.
func pick[T any](g *generator, list []T) T { return list[g.rng.IntN(len(list))] }

// chance reports true with probability pct/100.
func (g *generator) chance(pct int) bool { return g.rng.IntN(100) < pct }

// day formats the date n days from today as Sikka writes dates.
func (g *generator) day(n int) string {
	if s, ok := g.days[n]; ok {
		return s
	}
	s := g.today.AddDate(0, 0, n).Format("2006-01-02") + "T00:00:00"
	g.days[n] = s
	return s
}

// amount formats cents with decimals, as money does, remembering the few distinct amounts.
func (g *generator) amount(cents int64, decimals int) string {
	k := [2]int64{cents, int64(decimals)}
	if s, ok := g.amounts[k]; ok {
		return s
	}
	s := money(cents, decimals)
	g.amounts[k] = s
	return s
}

// digits4 formats n (0-9999) with four digits.
func digits4(n int) string {
	return string([]byte{byte('0' + n/1000), byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// stamp formats a time n days from today at h:m:s.
func (g *generator) stamp(n, h, m, s int) string {
	return g.today.AddDate(0, 0, n).Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second).Format(sikkaTime)
}

// money formats cents with the given number of decimals ("24.0000", "228.00").
func money(cents int64, decimals int) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	s := strconv.FormatInt(cents/100, 10) + "." + digits4(int(cents % 100))[2:] + strings.Repeat("0", decimals-2)
	if neg {
		return "-" + s
	}
	return s
}

// boolStr is "True" or "False".
func boolStr(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// row returns the cleared value buffer of table sc, one slot per column.
func (g *generator) row(sc *tableSchema) []string {
	b := g.cols[sc.name]
	if b == nil {
		b = make([]string, len(sc.cols))
		g.cols[sc.name] = b
	}
	clear(b)
	return b
}

// put sets column name of row vals.
func put(sc *tableSchema, vals []string, name, v string) { vals[sc.col[name]] = v }

// addRow adds vals to t; generated rows always fit.
func addRow(t *table, vals []string) {
	if _, err := t.add(vals); err != nil {
		panic("mocksikka: generated row does not fit: " + err.Error())
	}
}

func (g *generator) run(d *practiceData, nPatients, nAppts int) {
	g.pastDays = min(max(nAppts/8, 30), maxPastDays)
	g.futureDays = g.pastDays / 3
	g.genProviders(d, nPatients)
	g.genOperatories(d, nAppts)
	g.genPatientCore(nPatients)
	g.schedule(nAppts)
	g.genAppointments(d)
	g.genTransactions(d)
	g.genPatients(d)
	g.genSmallTables(d)
}

func (g *generator) genProviders(d *practiceData, nPatients int) {
	n := 6 + min(nPatients/2000, 20)
	t := d.tables[tblProviders]
	sc := t.sc
	seen := map[string]bool{}
	for i := range n + 1 { // the last one has left the practice: Inactive, with no appointment
		kind := "Provider"
		if i%2 == 1 {
			kind = "Hygienist"
		}
		female := g.chance(50)
		first := pick(g, firstNamesM)
		if female {
			first = pick(g, firstNamesF)
		}
		last := pick(g, lastNames)
		id := strings.ToUpper(first[:1] + last[:2])
		for k := 2; seen[id]; k++ {
			id = strings.ToUpper(first[:1]+last[:2]) + strconv.Itoa(k)
		}
		seen[id] = true
		status := "Inactive"
		if i < n {
			status = "Active"
			g.providers = append(g.providers, genProvider{id, first, last, kind})
		}
		v := g.row(sc)
		put(sc, v, "provider_id", id)
		put(sc, v, "firstname", first)
		put(sc, v, "lastname", last)
		put(sc, v, "address_line1", g.p.Address)
		put(sc, v, "city", g.p.City)
		put(sc, v, "state", g.p.State)
		put(sc, v, "zipcode", g.p.Zip)
		put(sc, v, "country", country(g.p.State))
		put(sc, v, "phone", g.p.Phone)
		put(sc, v, "provider_type", kind)
		spec, code := "General Dentistry", "1223G0001X"
		if kind == "Hygienist" {
			spec, code = "Dental Hygiene", "124Q00000X"
		}
		put(sc, v, "specialty", spec)
		put(sc, v, "speciality", spec)
		put(sc, v, "specialty_code", code)
		put(sc, v, "practice_id", g.p.PracticeID)
		put(sc, v, "status", status)
		put(sc, v, "national_provider_identifier", strconv.Itoa(1000000000+g.rng.IntN(900000000)))
		put(sc, v, "email", strings.ToLower(first+"."+last)+"@"+emailDomain(g.p))
		put(sc, v, "birthdate", g.day(-365*(30+g.rng.IntN(30))))
		put(sc, v, "hire_date", g.day(-365*(1+g.rng.IntN(15))))
		put(sc, v, "graduated_date", g.day(-365*(5+g.rng.IntN(20))))
		put(sc, v, "initials", strings.ToUpper(first[:1]+last[:1]))
		put(sc, v, "provider_account_id", id)
		put(sc, v, "fee_schedule_id", "1")
		put(sc, v, "is_hidden", "False")
		put(sc, v, "is_organization", "False")
		put(sc, v, "is_user", "True")
		put(sc, v, "cust_id", g.cust)
		addRow(t, v)
	}
}

// emailDomain is the practice's e-mail domain, or example.com.
func emailDomain(p Practice) string {
	if _, dom, ok := strings.Cut(p.Email, "@"); ok {
		return dom
	}
	return "example.com"
}

func (g *generator) genOperatories(d *practiceData, nAppts int) {
	bizDays := 0
	for n := -g.pastDays; n <= g.futureDays; n++ {
		if wd := g.today.AddDate(0, 0, n).Weekday(); wd != time.Saturday && wd != time.Sunday {
			bizDays++
		}
	}
	// about 3.3 half hours per appointment; keep the chairs at most 60% busy
	n := max(8, (nAppts*10/3+bizDays*dayUnits*6/10-1)/(bizDays*dayUnits*6/10))
	t := d.tables[tblOperatories]
	sc := t.sc
	for i := range n {
		name := "OP-" + strconv.Itoa(i+1)
		g.ops = append(g.ops, name)
		v := g.row(sc)
		put(sc, v, "operatory", name)
		put(sc, v, "abbreviation", "OP"+strconv.Itoa(i+1))
		put(sc, v, "practice_id", g.p.PracticeID)
		put(sc, v, "cust_id", g.cust)
		put(sc, v, "is_hidden", "F")
		if strings.EqualFold(g.p.PMS, "Eaglesoft") {
			put(sc, v, "provider_id", g.providers[i%len(g.providers)].id)
		}
		addRow(t, v)
	}
}

func (g *generator) genPatientCore(n int) {
	g.patients = make([]genPatient, n)
	var heads []int
	area := "555"
	if len(g.p.Phone) >= 3 {
		area = g.p.Phone[:3]
	}
	dentists := []string{}
	for _, pr := range g.providers {
		if pr.kind == "Provider" {
			dentists = append(dentists, pr.id)
		}
	}
	for i := range n {
		pt := &g.patients[i]
		pt.id = strconv.Itoa(1001 + i)
		if g.chance(50) {
			pt.first = pick(g, firstNamesF)
		} else {
			pt.first = pick(g, firstNamesM)
		}
		if len(heads) > 0 && g.chance(30) {
			h := &g.patients[heads[len(heads)-1-g.rng.IntN(min(len(heads), 5))]]
			pt.last, pt.guarantor, pt.gFirst, pt.gLast = h.last, h.id, h.first, h.last
			pt.insurer, pt.address = h.insurer, h.address
		} else {
			pt.last = pick(g, lastNames)
			pt.guarantor, pt.gFirst, pt.gLast = pt.id, pt.first, pt.last
			pt.address = strconv.Itoa(10+g.rng.IntN(990)) + " " + pick(g, streets)
			if g.chance(70) {
				pt.insurer = strconv.Itoa(g.rng.IntN(len(g.insurers)))
			} else {
				pt.insurer = ""
			}
			heads = append(heads, i)
		}
		pt.provider = pick(g, dentists)
		pt.cell = area + "-555-" + digits4(g.rng.IntN(10000))
		pt.email = strings.ToLower(pt.first+"."+pt.last) + strconv.Itoa(i%97) + "@example.com"
		pt.chart = strings.ToUpper(pt.last[:min(4, len(pt.last))]) + pt.id
	}
}

// schedule places the appointments on the calendar: business days from g.pastDays before to
// g.futureDays after today, 08:00-17:00, no two in one operatory slot.
func (g *generator) schedule(n int) {
	var days []int
	for k := -g.pastDays; k <= g.futureDays; k++ {
		if wd := g.today.AddDate(0, 0, k).Weekday(); wd != time.Saturday && wd != time.Sunday {
			days = append(days, k)
		}
	}
	busy := make([]uint32, len(days)*len(g.ops)) // bit u: half hour u taken
	hyg, dent := []string{}, []string{}
	for _, pr := range g.providers {
		if pr.kind == "Hygienist" {
			hyg = append(hyg, pr.id)
		} else {
			dent = append(dent, pr.id)
		}
	}
	g.appts = make([]genAppt, 0, n)
	for range n {
		pi := g.rng.IntN(len(g.patients))
		var procs []int
		switch r := g.rng.IntN(100); {
		case r < 45:
			procs = []int{4, 0} // cleaning and exam
		case r < 55:
			procs = []int{5, 6}
		case r < 65:
			procs = []int{3}
		case r < 80:
			procs = []int{7 + g.rng.IntN(2)}
		case r < 85:
			procs = []int{9}
		case r < 89:
			procs = []int{10}
		case r < 95:
			procs = []int{11}
		case r < 98:
			procs = []int{12}
		default:
			procs = []int{1, 2}
		}
		minutes := 0
		for _, p := range procs {
			minutes += g.procedures[p].minutes
		}
		units := min(max(minutes/30, 1), 4)
		placed := false
		for try := 0; try < 40 && !placed; try++ {
			di, op, u := g.rng.IntN(len(days)), g.rng.IntN(len(g.ops)), g.rng.IntN(dayUnits-units+1)
			mask := uint32(1<<units-1) << u
			if busy[di*len(g.ops)+op]&mask == 0 {
				busy[di*len(g.ops)+op] |= mask
				g.appts = append(g.appts, genAppt{day: days[di], unit: u, units: units, op: op, patient: pi, procs: procs})
				placed = true
			}
		}
		if !placed {
			break // the calendar is full; the operatory count keeps this from happening
		}
		a := &g.appts[len(g.appts)-1]
		a.provider = g.patients[pi].provider
		if g.procedures[procs[0]].hygiene {
			a.provider = pick(g, hyg)
		}
		a.madeBefore = 1 + g.rng.IntN(60)
		switch r := g.rng.IntN(100); {
		case a.day < 0 && r < 86:
			a.status = "Completed"
		case a.day < 0 && r < 93:
			a.status = "Cancelled"
		case a.day < 0:
			a.status = "Broken"
		case r < 55:
			a.status = "Scheduled"
		case r < 92:
			a.status = "Confirmed"
		default:
			a.status = "Left Message"
		}
	}
	slices.SortFunc(g.appts, func(a, b genAppt) int {
		if a.day != b.day {
			return a.day - b.day
		}
		if a.unit != b.unit {
			return a.unit - b.unit
		}
		return a.op - b.op
	})
	for _, a := range g.appts {
		if a.status != "Completed" {
			continue
		}
		pt := &g.patients[a.patient]
		if !pt.hasVisit {
			pt.firstVisit, pt.hasVisit = a.day, true
		}
		pt.lastVisit = a.day
	}
}

func (g *generator) genAppointments(d *practiceData) {
	t := d.tables[tblAppointments]
	sc := t.sc
	t.reserve(len(g.appts))
	for i, a := range g.appts {
		pt := &g.patients[a.patient]
		v := g.row(sc)
		put(sc, v, "appointment_sr_no", strconv.Itoa(50001+i))
		put(sc, v, "patient_id", pt.id)
		put(sc, v, "guarantor_id", pt.guarantor)
		put(sc, v, "provider_id", a.provider)
		put(sc, v, "practice_id", g.p.PracticeID)
		put(sc, v, "status", a.status)
		put(sc, v, "operatory", g.ops[a.op])
		put(sc, v, "date", g.day(a.day))
		put(sc, v, "time", hhmm(8*60+a.unit*30))
		put(sc, v, "length", strconv.Itoa(a.units*30))
		var total int64
		var descs []string
		for k, pi := range a.procs {
			pr := g.procedures[pi]
			total += pr.cents
			descs = append(descs, pr.desc)
			n := strconv.Itoa(k + 1)
			put(sc, v, "procedure_code"+n, pr.code)
			put(sc, v, "procedure_code"+n+"_amount", g.amount(pr.cents, 4))
			put(sc, v, "procedure_code"+n+"_time", strconv.Itoa(pr.minutes))
		}
		put(sc, v, "amount", g.amount(total, 4))
		put(sc, v, "description", strings.Join(descs, ", "))
		put(sc, v, "type", g.procedures[a.procs[0]].kind)
		put(sc, v, "appointment_made_date", g.stamp(a.day-a.madeBefore, 9+a.madeBefore%8, (a.madeBefore*7)%60, 0))
		put(sc, v, "last_changed_date", g.stamp(min(a.day, 0)-1, 17, 30, 0))
		put(sc, v, "patient_name", pt.first+" "+pt.last)
		put(sc, v, "guarantor_name", pt.gFirst+" "+pt.gLast)
		if g.procedures[a.procs[0]].hygiene {
			put(sc, v, "hygienist", a.provider)
		}
		confirmed := a.status == "Confirmed" || a.status == "Completed"
		put(sc, v, "is_confirmed", boolStr(confirmed))
		if confirmed {
			put(sc, v, "confirmed_on_date", g.stamp(a.day-1, 10, 15, 0))
		}
		cancelled := a.status == "Cancelled"
		put(sc, v, "cancelled", boolStr(cancelled))
		if cancelled {
			put(sc, v, "cancelled_date", g.stamp(a.day-1, 11, 0, 0))
		}
		put(sc, v, "is_companion", "False")
		put(sc, v, "sooner_if_possible", "False")
		put(sc, v, "performed", boolStr(a.status == "Completed"))
		put(sc, v, "schedule", "1")
		put(sc, v, "location", g.p.Name)
		put(sc, v, "cust_id", g.cust)
		put(sc, v, "original_provider", a.provider)
		put(sc, v, "procedure_codes", strings.Join(g.codes(a.procs), ","))
		if a.status == "Completed" {
			put(sc, v, "arrival_status", "Arrived")
			put(sc, v, "arrival_time", hhmm(8*60+a.unit*30-10))
		}
		addRow(t, v)
	}
}

// codes returns the procedure codes of procs.
func (g *generator) codes(procs []int) []string {
	out := make([]string, len(procs))
	for i, p := range procs {
		out[i] = g.procedures[p].code
	}
	return out
}

// coveredPct is the share an insurer pays for a procedure category.
func coveredPct(category string) int {
	for _, c := range coverage {
		if c.category == category {
			return c.pct
		}
	}
	return 0
}

// agingBucket is 0 (<30 days), 1 (30-60), 2 (60-90) or 3 (>90) for a day index in the past.
func agingBucket(day int) int { return min(max(-day, 0)/30, 3) }

// genTransactions makes a procedure transaction per completed appointment's first procedure,
// a payment for about a third of them, a claim for insured patients' visits of the last 120
// days, and a medical note for about a quarter of them.
func (g *generator) genTransactions(d *practiceData) {
	tt, tc, tn := d.tables[tblTransactions], d.tables[tblClaims], d.tables[tblNotes]
	ts, cs, ns := tt.sc, tc.sc, tn.sc
	txNo, claimNo, noteNo := 30001, 60001, 90001
	done := 0
	for _, a := range g.appts {
		if a.status == "Completed" {
			done++
		}
	}
	tt.reserve(done * 3 / 2)
	tc.reserve(done / 2)
	tn.reserve(done / 3)
	for i, a := range g.appts {
		if a.status != "Completed" {
			continue
		}
		pt := &g.patients[a.patient]
		pr := g.procedures[a.procs[0]]
		insured := pt.insurer != ""
		var insEst int64
		if insured {
			insEst = pr.cents * int64(coveredPct(pr.category)) / 100
		}
		claim := ""
		if insured && a.day > -120 && insEst > 0 {
			claim = strconv.Itoa(claimNo)
			claimNo++
		}
		txID := strconv.Itoa(txNo)
		txNo++
		srNo := strconv.Itoa(50001 + i)
		v := g.row(ts)
		put(ts, v, "transaction_sr_no", txID)
		put(ts, v, "patient_id", pt.id)
		put(ts, v, "guarantor_id", pt.guarantor)
		put(ts, v, "provider_id", a.provider)
		put(ts, v, "practice_id", g.p.PracticeID)
		put(ts, v, "transaction_type", "Procedure")
		put(ts, v, "transaction_date", g.day(a.day))
		put(ts, v, "procedure_code", pr.code)
		put(ts, v, "procedure_description", pr.desc)
		put(ts, v, "amount", g.amount(pr.cents, 4))
		put(ts, v, "transaction_entry_date", g.stamp(a.day, 17, 5, 0))
		put(ts, v, "estimated_insurance_payment", g.amount(insEst, 4))
		put(ts, v, "primary_insurance_estimate", g.amount(insEst, 4))
		put(ts, v, "secondary_insurance_estimate", "0.0000")
		put(ts, v, "quantity", "1")
		put(ts, v, "claim_sr_no", claim)
		put(ts, v, "created_by", "FRONTDESK")
		put(ts, v, "last_updated_by", g.stamp(a.day, 17, 5, 0))
		put(ts, v, "appointment_sr_no", srNo)
		put(ts, v, "cust_id", g.cust)
		put(ts, v, "billed_to_insurance", boolStr(claim != ""))
		put(ts, v, "transaction_code", pr.code)
		put(ts, v, "transaction_description", pr.desc)
		put(ts, v, "transaction_time", hhmm(8*60+a.unit*30))
		if pr.category == "Basic Restorative" || pr.category == "Crowns" || pr.category == "Endodontics" || pr.category == "Oral Surgery" {
			tooth := strconv.Itoa(2 + g.rng.IntN(30))
			put(ts, v, "tooth_from", tooth)
			put(ts, v, "tooth_to", tooth)
			if pr.category == "Basic Restorative" {
				put(ts, v, "surface", pick(g, []string{"O", "MO", "DO", "B", "L"}))
			}
		}
		addRow(tt, v)

		patientPart := pr.cents - insEst
		paid := g.chance(75) || a.day > -3
		if paid && patientPart > 0 && g.chance(45) {
			pay := pick(g, paymentTypes[:4])
			v := g.row(ts)
			put(ts, v, "transaction_sr_no", strconv.Itoa(txNo))
			txNo++
			put(ts, v, "patient_id", pt.id)
			put(ts, v, "guarantor_id", pt.guarantor)
			put(ts, v, "provider_id", a.provider)
			put(ts, v, "practice_id", g.p.PracticeID)
			put(ts, v, "transaction_type", "Payment")
			put(ts, v, "transaction_date", g.day(a.day))
			put(ts, v, "procedure_description", pay[1])
			put(ts, v, "amount", g.amount(-patientPart, 4))
			put(ts, v, "transaction_entry_date", g.stamp(a.day, 17, 10, 0))
			put(ts, v, "quantity", "1")
			put(ts, v, "payment_type", pay[0])
			put(ts, v, "created_by", "FRONTDESK")
			put(ts, v, "last_updated_by", g.stamp(a.day, 17, 10, 0))
			put(ts, v, "cust_id", g.cust)
			put(ts, v, "payment_procedure_link_id", txID)
			put(ts, v, "amount_paid", g.amount(patientPart, 4))
			put(ts, v, "payment_method", pay[1])
			addRow(tt, v)
		} else if !paid && patientPart > 0 {
			pt.balance[0][agingBucket(a.day)] += patientPart
		}

		if claim != "" {
			ins := g.insurers[mustAtoi(pt.insurer)]
			settled := a.day < -30 || (a.day < -10 && g.chance(50))
			v := g.row(cs)
			put(cs, v, "claim_sr_no", claim)
			put(cs, v, "patient_id", pt.id)
			put(cs, v, "guarantor_id", pt.guarantor)
			put(cs, v, "provider_id", a.provider)
			put(cs, v, "practice_id", g.p.PracticeID)
			put(cs, v, "claim_description_id", claim)
			put(cs, v, "claim_sent_date", g.day(a.day+1))
			put(cs, v, "total_billed_amount", g.amount(pr.cents, 2))
			put(cs, v, "estimated_amount", g.amount(insEst, 2))
			status := "O"
			if settled {
				status = "C"
				put(cs, v, "claim_payment_date", g.day(a.day+14))
				put(cs, v, "payment_amount", g.amount(insEst, 2))
				put(cs, v, "total_paid_amount", g.amount(insEst, 2))
				put(cs, v, "cheque_no", strconv.Itoa(100000+g.rng.IntN(900000)))
			} else {
				put(cs, v, "payment_amount", "0.00")
				put(cs, v, "total_paid_amount", "0.00")
				pt.balance[1][agingBucket(a.day)] += insEst
			}
			put(cs, v, "claim_status", status)
			put(cs, v, "primary_or_secondary", "P")
			put(cs, v, "insurance_company_id", ins.id)
			put(cs, v, "insurance_company_name", ins.name)
			put(cs, v, "claim_channel", "Electronic")
			put(cs, v, "rendering_provider", a.provider)
			put(cs, v, "payer_id", ins.payer)
			put(cs, v, "creation_date", g.day(a.day))
			put(cs, v, "standard", "True")
			put(cs, v, "pay_to_provider", "True")
			put(cs, v, "tp", "False")
			put(cs, v, "cust_id", g.cust)
			put(cs, v, "carrier_id", ins.id)
			addRow(tc, v)
		}

		if g.chance(25) {
			v := g.row(ns)
			put(ns, v, "note_id", strconv.Itoa(noteNo))
			noteNo++
			put(ns, v, "patient_id", pt.id)
			put(ns, v, "provider_id", a.provider)
			put(ns, v, "practice_id", g.p.PracticeID)
			put(ns, v, "transaction_sr_no", txID)
			put(ns, v, "date", g.day(a.day))
			put(ns, v, "description", pr.desc)
			put(ns, v, "type", "Clinical Note")
			put(ns, v, "procedure_date", g.day(a.day))
			put(ns, v, "text", pr.desc+" completed. Patient tolerated the procedure well. Next visit as scheduled.")
			put(ns, v, "procedure_code_id", pr.code)
			put(ns, v, "time_stamp", g.stamp(a.day, 16, 45, 0))
			put(ns, v, "created_by", a.provider)
			put(ns, v, "cust_id", g.cust)
			put(ns, v, "note_id", strconv.Itoa(noteNo-1))
			addRow(tn, v)
		}
	}
}

// mustAtoi parses a number the generator wrote itself.
func mustAtoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func (g *generator) genPatients(d *practiceData) {
	t, tb, tp := d.tables[tblPatients], d.tables[tblBalances], d.tables[tblTreatment]
	sc, bs, ps := t.sc, tb.sc, tp.sc
	t.reserve(len(g.patients))
	tb.reserve(len(g.patients))
	tp.reserve(len(g.patients) / 4)
	planNo := 337001
	zip := g.p.Zip
	for i := range g.patients {
		pt := &g.patients[i]
		v := g.row(sc)
		female := slices.Contains(firstNamesF, pt.first)
		put(sc, v, "patient_id", pt.id)
		put(sc, v, "guarantor_id", pt.guarantor)
		put(sc, v, "firstname", pt.first)
		put(sc, v, "middlename", string(rune('A'+g.rng.IntN(26))))
		put(sc, v, "lastname", pt.last)
		if g.chance(12) {
			put(sc, v, "preferred_name", pt.first[:min(3, len(pt.first))])
		}
		age := 3 + g.rng.IntN(85)
		if pt.guarantor == pt.id {
			age = 19 + g.rng.IntN(70)
		}
		put(sc, v, "birthdate", g.day(-age*365-g.rng.IntN(365)))
		gender, sal := "Male", "Mr."
		if female {
			gender, sal = "Female", pick(g, []string{"Ms.", "Mrs."})
		}
		if age < 18 {
			sal = ""
		}
		put(sc, v, "salutation", sal)
		put(sc, v, "gender", gender)
		status := "Active"
		switch r := g.rng.IntN(100); {
		case r < 8:
			status = "Inactive"
		case r < 11:
			status = "Non-patient"
		}
		put(sc, v, "status", status)
		put(sc, v, "address_line1", pt.address)
		put(sc, v, "city", g.p.City)
		put(sc, v, "state", g.p.State)
		put(sc, v, "zipcode", zip)
		put(sc, v, "country", country(g.p.State))
		put(sc, v, "cell", pt.cell)
		if g.chance(40) {
			put(sc, v, "homephone", pt.cell[:4]+"555-"+digits4(g.rng.IntN(10000)))
		}
		put(sc, v, "email", pt.email)
		if pt.hasVisit {
			put(sc, v, "first_visit", g.day(pt.firstVisit))
			put(sc, v, "last_visit", g.day(pt.lastVisit))
		}
		put(sc, v, "provider_id", pt.provider)
		put(sc, v, "practice_id", g.p.PracticeID)
		if pt.insurer != "" {
			ins := g.insurers[mustAtoi(pt.insurer)]
			put(sc, v, "primary_insurance_company_id", ins.id)
			put(sc, v, "primary_insurance", ins.name)
			rel := "Self"
			if pt.guarantor != pt.id {
				rel = pick(g, []string{"Spouse", "Child"})
			}
			put(sc, v, "primary_relationship", rel)
			put(sc, v, "subscriber_id", strconv.Itoa(100000000+mustAtoi(pt.guarantor)*7919%900000000))
			put(sc, v, "primary_subscriber_patient_id", pt.guarantor)
		}
		put(sc, v, "fee_no", "1")
		put(sc, v, "guarantor_first_name", pt.gFirst)
		put(sc, v, "guarantor_last_name", pt.gLast)
		created := -g.pastDays - 30 - g.rng.IntN(3000)
		if pt.hasVisit && pt.firstVisit < created {
			created = pt.firstVisit
		}
		put(sc, v, "created_date", g.stamp(created, 9, 0, 0))
		contact := pick(g, []string{"Cell", "Email", "Text"})
		put(sc, v, "preferred_contact", contact)
		put(sc, v, "preferred_communication_method", contact)
		put(sc, v, "patient_account_id", pt.guarantor)
		put(sc, v, "ui_patient_id", pt.id)
		put(sc, v, "cust_id", g.cust)
		put(sc, v, "chart_number", pt.chart)
		put(sc, v, "billing_type", "Standard")
		put(sc, v, "email_alert", "True")
		put(sc, v, "text_alert", boolStr(contact != "Email"))
		put(sc, v, "voice_alert", "False")
		put(sc, v, "guarantor_patient_id", pt.guarantor)
		put(sc, v, "marital_status", "")
		addRow(t, v)

		// patient_balance: one row per patient
		b := g.row(bs)
		put(bs, b, "patient_id", pt.id)
		put(bs, b, "firstname", pt.first)
		put(bs, b, "lastname", pt.last)
		put(bs, b, "practice_id", g.p.PracticeID)
		put(bs, b, "current_date", g.day(0))
		put(bs, b, "practice_name", g.p.Name)
		put(bs, b, "customer_id", g.cust)
		put(bs, b, "chart_number", pt.chart)
		names := [4]string{"less_than_30", "between_30_60", "between_60_90", "greater_than_90"}
		var pat, ins int64
		for k, nm := range names {
			put(bs, b, "patient_amount_"+nm, g.amount(pt.balance[0][k], 2))
			put(bs, b, "insurance_amount_"+nm, g.amount(pt.balance[1][k], 2))
			pat += pt.balance[0][k]
			ins += pt.balance[1][k]
		}
		put(bs, b, "patient_balance", g.amount(pat, 2))
		put(bs, b, "unapplied", "0.00")
		put(bs, b, "insurance_due", g.amount(ins, 2))
		put(bs, b, "patient_due", g.amount(pat, 2))
		put(bs, b, "account_balance", g.amount(pat+ins, 2))
		put(bs, b, "write_off", "0.00")
		addRow(tb, b)

		// treatment_plans: about a fifth of the patients have one planned procedure
		if g.chance(20) {
			pr := g.procedures[pick(g, []int{7, 8, 9, 10, 11, 12})]
			v := g.row(ps)
			put(ps, v, "plan_sr_no", strconv.Itoa(planNo))
			planNo++
			put(ps, v, "patient_id", pt.id)
			put(ps, v, "guarantor_id", pt.guarantor)
			put(ps, v, "provider_id", pt.provider)
			put(ps, v, "practice_id", g.p.PracticeID)
			put(ps, v, "procedure_code", pr.code)
			put(ps, v, "amount", g.amount(pr.cents, 4))
			tooth := strconv.Itoa(2 + g.rng.IntN(30))
			put(ps, v, "tooth_from", tooth)
			put(ps, v, "tooth_to", tooth)
			put(ps, v, "description", pr.desc)
			entry := -g.rng.IntN(g.pastDays)
			put(ps, v, "entry_date", g.day(entry))
			var est int64
			if pt.insurer != "" {
				est = pr.cents * int64(coveredPct(pr.category)) / 100
			}
			put(ps, v, "insurance_payment", g.amount(est, 4))
			put(ps, v, "primary_insurance_estimate", g.amount(est, 4))
			put(ps, v, "secondary_insurance_estimate", "0.0000")
			status := pick(g, []string{"created", "created", "accepted", "rejected"})
			put(ps, v, "treatment_plan_status", status)
			if status == "accepted" {
				put(ps, v, "procedure_date", g.day(1+g.rng.IntN(g.futureDays)))
			}
			put(ps, v, "created_by", pt.provider)
			put(ps, v, "last_updated_by", g.stamp(entry, 15, 0, 0))
			put(ps, v, "cust_id", g.cust)
			addRow(tp, v)
		}
	}
}

// genSmallTables fills payment_types, insurance_plan_coverage and practice_variables.
func (g *generator) genSmallTables(d *practiceData) {
	t := d.tables[tblPaymentTypes]
	for _, pt := range paymentTypes {
		v := g.row(t.sc)
		put(t.sc, v, "practice_id", g.p.PracticeID)
		put(t.sc, v, "description", pt[1])
		put(t.sc, v, "code", pt[0])
		put(t.sc, v, "cust_id", g.cust)
		put(t.sc, v, "payment_type_status", "Active")
		addRow(t, v)
	}
	t = d.tables[tblCoverage]
	for _, ins := range g.insurers {
		for _, c := range coverage {
			v := g.row(t.sc)
			put(t.sc, v, "practice_id", g.p.PracticeID)
			put(t.sc, v, "insurance_company_id", ins.id)
			put(t.sc, v, "procedure_code_from", c.from)
			put(t.sc, v, "procedure_code_to", c.to)
			put(t.sc, v, "co_pay", "0.00")
			put(t.sc, v, "percentage_covered", strconv.Itoa(c.pct))
			put(t.sc, v, "category", c.category)
			put(t.sc, v, "deductible", "50.00")
			put(t.sc, v, "is_deductible", boolStr(c.category != "Diagnostic" && c.category != "Preventive"))
			addRow(t, v)
		}
	}
	t = d.tables[tblVariables]
	item := 1
	add := func(service, value, desc string) {
		v := g.row(t.sc)
		put(t.sc, v, "practice_id", g.p.PracticeID)
		put(t.sc, v, "description", desc)
		put(t.sc, v, "service_name", service)
		put(t.sc, v, "value", value)
		put(t.sc, v, "service_item", strconv.Itoa(item))
		item++
		addRow(t, v)
	}
	for _, st := range apptStatuses {
		add("Appointment Status", st, "Appointment status "+st)
	}
	for _, ty := range []string{"Exam", "Hygiene", "Restorative", "Endo", "Perio", "Surgery"} {
		add("Appointment Type", ty, "Appointment type "+ty)
	}
	add("Practice Hours", "08:00-17:00", "Business hours, Monday to Friday")
}
