import Testing

@testable import RelayCore

@Suite struct IdNumberTests {
    @Test(arguments: [
        "11010519491231002X",  // the classic GB 11643 example
        "37021119900307123X",
        "51010020000229456X",  // born 29 February 2000, a leap day
        "230103197701011239",
        "330106198808087652",
        "610113201212240041",
    ])
    func validNumbersPass(_ number: String) {
        #expect(ResidentIdNumber.defect(in: number) == nil)
    }

    @Test func checkCharacterFollowsTheWeights() {
        let digits = "11010519491231002".map { Int(String($0))! }
        #expect(ResidentIdNumber.checkCharacter(digits: digits) == "X")
        let other = "23010319770101123".map { Int(String($0))! }
        #expect(ResidentIdNumber.checkCharacter(digits: other) == "9")
    }

    @Test func wrongCheckCharacterIsChecksum() {
        #expect(ResidentIdNumber.defect(in: "110105194912310021") == .checksum)
        #expect(ResidentIdNumber.defect(in: "230103197701011230") == .checksum)
        #expect(ResidentIdNumber.defect(in: "23010319770101123X") == .checksum)
    }

    @Test func lengthAndCharacters() {
        #expect(ResidentIdNumber.defect(in: "") == .length)
        #expect(ResidentIdNumber.defect(in: "11010519491231002") == .length)
        #expect(ResidentIdNumber.defect(in: "11010519491231002X1") == .length)
        #expect(ResidentIdNumber.defect(in: "110105194912310O2X") == .characters)  // letter O for zero
        #expect(ResidentIdNumber.defect(in: "11010519491231002Y") == .characters)
        #expect(ResidentIdNumber.defect(in: "１10105194912310021") == .characters)  // full-width digit
    }

    @Test func birthDateMustBeReal() {
        // 30 February 1999, correct check character for its digits: the date alone is wrong.
        let first17 = "11010519990230002"
        let check = ResidentIdNumber.checkCharacter(digits: first17.map { Int(String($0))! })
        #expect(ResidentIdNumber.defect(in: first17 + String(check)) == .birthDate)
        #expect(ResidentIdNumber.defect(in: "110105190002290021") == .birthDate)  // 1900 is not a leap year
        #expect(ResidentIdNumber.defect(in: "110105199913010021") == .birthDate)  // month 13
        #expect(ResidentIdNumber.defect(in: "110105199901000021") == .birthDate)  // day 0
    }

    @Test func lowercaseXIsItsOwnDefect() {
        #expect(ResidentIdNumber.defect(in: "11010519491231002x") == .lowercaseCheck)
        #expect(ResidentIdNumber.defect(in: "23010319770101123x") == .checksum)
    }

    @Test func calendarDates() {
        #expect(CalendarDate.parse("2024-02-29").map { [$0.year, $0.month, $0.day] } == [2024, 2, 29])
        #expect(CalendarDate.parse("2000-02-29") != nil)
        #expect(CalendarDate.parse("2023-02-29") == nil)
        #expect(CalendarDate.parse("1900-02-29") == nil)
        #expect(CalendarDate.parse("2024-04-31") == nil)
        #expect(CalendarDate.parse("2024-4-30") == nil)
        #expect(CalendarDate.parse("2024/04/30") == nil)
        #expect(CalendarDate.parse("0000-01-01") == nil)
        #expect(CalendarDate.parse("２024-04-30") == nil)
        #expect(CalendarDate.parse("2024-12-31T00:00") == nil)
    }
}
