// Package webhook receives Sikka's webhooks (SIKKA_API.md, section 10) for
// a host that uses package integration. Receiver is an http.Handler the
// host mounts at the URL it registers with Sikka (the demo:
// /sikka/webhook). For each POST it:
//
//   - checks the callback-key header against Config.Keys (constant time;
//     several keys so that the key can rotate), and refuses anything else
//     with 401 before reading the body;
//   - reads a bounded JSON body, tolerant of Sikka's mixed types
//     (Data_Refresh's practice_id is a number, every other scalar a string)
//     and of its zone-less times;
//   - records a Data_Refresh on the integration record of its office
//     (Record.LastDataRefresh, NextDataSync, PMSVersion, which the
//     middleware's status JSON shows as lastDataRefresh, nextDataSync,
//     pmsVersion);
//   - hands every event of a connected office (patient, transaction,
//     appointments, Data_Refresh) with the account that holds the office
//     to Config.OnEvent, asynchronously, and answers 204 at once.
//
// Deliveries for offices no account holds, and duplicates, are answered 204
// too (Sikka turns off a webhook whose retries keep failing) and logged. The
// callback key is a secret: it is never logged nor kept in clear.
//
// Arrows: webhook imports integration; neither integration nor middleware
// imports webhook, so a host that wants no webhook never links it.
package webhook
