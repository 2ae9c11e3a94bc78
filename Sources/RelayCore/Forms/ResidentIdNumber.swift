/// The 18-character Chinese resident identity number of GB 11643-1999 and its checks.
///
/// Layout: 6 digits of region (GB/T 2260), 8 digits of birth date `YYYYMMDD`, 3 digits of sequence
/// (odd for men), 1 check character. The check character is `"10X98765432"[Σ(digit·weight) mod 11]`
/// over the first 17 digits with weights 7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2.
///
/// Decisions: the check character `X` must be uppercase, as GB 11643 prints it; a lowercase `x` that
/// would otherwise be right is its own defect (`lowercaseCheck`) so that staff can say exactly what to fix.
/// The region part is not looked up (that needs the whole GB/T 2260 list) and the birth date is not
/// compared with today (RelayCore has no clock); it must be a real calendar date.
public enum ResidentIdNumber {
    /// The weights of the first 17 digits.
    public static let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    private static let checkCharacters: [Character] = Array("10X98765432")

    /// What is wrong with an identity number, if anything; `nil` for a valid one.
    public static func defect(in value: String) -> IdNumberDefect? {
        guard value.count == 18 else { return .length }
        let chars = Array(value)
        let digits = chars[0..<17].compactMap(asciiDigit)
        let last = chars[17]
        guard digits.count == 17, asciiDigit(last) != nil || last == "X" || last == "x" else {
            return .characters
        }
        let y = digits[6] * 1000 + digits[7] * 100 + digits[8] * 10 + digits[9]
        let m = digits[10] * 10 + digits[11]
        let d = digits[12] * 10 + digits[13]
        guard CalendarDate.isValid(year: y, month: m, day: d) else { return .birthDate }
        let expected = checkCharacter(digits: digits)
        if last == "x" { return expected == "X" ? .lowercaseCheck : .checksum }
        return last == expected ? nil : .checksum
    }

    /// The check character of the first 17 digits (each 0…9).
    public static func checkCharacter(digits: [Int]) -> Character {
        precondition(digits.count == 17, "an identity number has 17 digits before its check character")
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        return checkCharacters[sum % 11]
    }

    private static func asciiDigit(_ c: Character) -> Int? {
        guard let a = c.asciiValue, a >= 48, a <= 57 else { return nil }
        return Int(a - 48)
    }
}

/// Why an identity number is not valid.
public enum IdNumberDefect: String, Sendable, Hashable, CaseIterable {
    /// Not 18 characters long.
    case length
    /// The first 17 are not all ASCII digits, or the last is not a digit or `X`.
    case characters
    /// Positions 7–14 are not a real date `YYYYMMDD`.
    case birthDate
    /// The check character does not match the first 17 digits.
    case checksum
    /// The check character is a lowercase `x` where GB 11643 prints `X`.
    case lowercaseCheck
}

/// Calendar dates as forms carry them: `YYYY-MM-DD`, proleptic Gregorian, years 0001–9999.
public enum CalendarDate {
    /// Whether year/month/day name a real day.
    public static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1 else { return false }
        return day <= daysIn(month: month, year: year)
    }

    /// The date of an exact `YYYY-MM-DD` string (ASCII digits, a real day), or `nil`.
    public static func parse(_ text: String) -> (year: Int, month: Int, day: Int)? {
        let u = Array(text.utf8)
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-") else { return nil }
        func number(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                guard u[i] >= UInt8(ascii: "0"), u[i] <= UInt8(ascii: "9") else { return nil }
                n = n * 10 + Int(u[i] - UInt8(ascii: "0"))
            }
            return n
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10),
            isValid(year: y, month: m, day: d)
        else { return nil }
        return (y, m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
