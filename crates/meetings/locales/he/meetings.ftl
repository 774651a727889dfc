meetings = פגישות
meetings-about = פגישות וידאו קטנות לצוותים, מתוזמנות או מיידיות, ביומן של כל אחד.
meetings-lead = נפגשים מיד או לפי לוח זמנים, עם הצוותים שלך או עם כל מי שקיבל את הקוד. הפגישות מוצגות באזור הזמן שלך ובכל יישום יומן.
meetings-sign-in = יש להתחבר כדי לפתוח פגישות או לתזמן אותן ולראות את יומני הצוותים שלך. מי ששלח לך קישור לפגישה יכול לאפשר לך להצטרף כאורח.
meetings-schedule = תזמון פגישה
meetings-schedule-it = לתזמן
meetings-schedule-for-team = תזמון פגישה לצוות הזה
meetings-calendar = יומן
meetings-teams = צוותים
meetings-instant = פתיחת פגישה עכשיו
meetings-instant-name = שם (לא חובה)
meetings-instant-title = פגישה מיידית
meetings-team = צוות
meetings-no-team = בלי צוות (רק אני)
meetings-all-teams = כל הצוותים
meetings-team-hint = כל חברי הצוות מוזמנים בדואר; רק חברים יכולים להצטרף לפגישת צוות.
meetings-guests-allowed = אורחים בלי חשבון יכולים להצטרף
meetings-upcoming = בקרוב
meetings-past = פגישות שהיו
meetings-when = אילו
meetings-show = הצגה
meetings-weekly = שבועית
meetings-join = הצטרפות
meetings-none-upcoming = אין פגישות בקרוב.
meetings-none-past = אין פגישות שהיו.
meetings-none-month = אין פגישות החודש.
meetings-times-in = השעות מוצגות לפי { $zone }.
meetings-feed = הזנת היומן שלך
meetings-feed-lead = אפשר להירשם לכתובת הסודית הזאת בכל יישום יומן ולראות בו את הפגישות שלך ושל הצוותים שלך. כל מי שיש לו את הכתובת יכול לקרוא אותה.
meetings-feed-new = יצירת כתובת חדשה
meetings-feed-new-confirm = הכתובת הישנה תפסיק לעבוד. ליצור חדשה?
meetings-my-zone = אזור הזמן שלך
meetings-time-zone = אזור זמן
meetings-save = שמירה
meetings-my-zone-set = בהזמנות ובתזכורות השעות מוצגות לפי { $zone }.
meetings-my-zone-unset = עד שתבחרו אזור זמן, בהזמנות ובתזכורות השעות מוצגות לפי אזור הזמן של כל פגישה.
meetings-edit = שינוי הפגישה
meetings-title = כותרת
meetings-date = יום
meetings-start = התחלה
meetings-end = סיום
meetings-repeat-weekly = חזרה בכל שבוע
meetings-repeat-hint = יש לסמן את הימים שבהם היא מתקיימת, כולל היום של הפגישה הראשונה. בלי סימון הפגישה מתקיימת פעם אחת.
meetings-repeat-until = יום אחרון (לא חובה)
meetings-repeat-count = או מספר פעמים
meetings-day-mo = שני
meetings-day-tu = שלישי
meetings-day-we = רביעי
meetings-day-th = חמישי
meetings-day-fr = שישי
meetings-day-sa = שבת
meetings-day-su = ראשון
meetings-cancelled = הפגישה הזאת בוטלה.
meetings-next = הפעם הבאה
meetings-was = התקיימה
meetings-own-zone = לפי אזור הזמן של הפגישה
meetings-repeats = חוזרת
meetings-weekly-on = בכל שבוע בימים
meetings-until = עד { $date }
meetings-times-n = { $n } פעמים
meetings-host = מארח
meetings-code = קוד
meetings-join-link = קישור הצטרפות
meetings-guests = אורחים
meetings-guests-yes = מותרים, עם שם
meetings-guests-no = אסורים
meetings-ran = התקיימה בפועל
meetings-ics = הוספה ליומן (קובץ יומן)
meetings-coming = הפעמים הבאות
meetings-cancel = ביטול הפגישה
meetings-cancel-confirm = לבטל את הפגישה לכולם? יישומי היומן יציגו אותה כמבוטלת.
meetings-prev-month = החודש הקודם
meetings-next-month = החודש הבא
meetings-no-teams = עדיין אינך בצוות.
meetings-new-team = צוות חדש
meetings-team-name = שם
meetings-create-team = יצירת הצוות
meetings-need-member = כדי ליצור צוותים יש לבקש ממנהל את תפקיד החבר. כדי להצטרף לצוות יש לפתוח קישור הזמנה ממנו.
meetings-role-owner = בעלים
meetings-role-admin = מנהל
meetings-role-member = חבר
meetings-members = חברים
meetings-member-name = שם
meetings-member-role = תפקיד
meetings-member-actions = פעולות
meetings-make-admin = מינוי למנהל
meetings-make-member = החזרה לחבר רגיל
meetings-hand-over = העברת הבעלות
meetings-hand-over-confirm = להפוך את האדם הזה לבעלים של הצוות? נשארים בו כמנהל.
meetings-remove = הסרה
meetings-remove-confirm = להסיר את האדם הזה מהצוות?
meetings-invites = קישורי הזמנה
meetings-invites-lead = מי שמתחבר ופותח קישור מצטרף לצוות כחבר, עד שתוקף הקישור פג או שהוא מבוטל.
meetings-invite-expires = בתוקף עד
meetings-invite-revoked = בוטל
meetings-invite-expired = פג תוקף
meetings-invite-accepted = הצטרפו דרכו: { $n }
meetings-invite-revoke = ביטול
meetings-invite-days = הקישור בתוקף למשך
meetings-days-n = { $n ->
    [one] יום אחד
   *[other] { $n } ימים
}
meetings-invite-make = יצירת קישור
meetings-rename = שינוי שם הצוות
meetings-team-feed = הזנת היומן של הצוות
meetings-team-feed-lead = אפשר להירשם לכתובת הסודית הזאת ביישום יומן ולראות בו את פגישות הצוות. כל מי שיש לו את הכתובת יכול לקרוא אותה.
meetings-leave = עזיבת הצוות
meetings-leave-last = נשארת החבר האחרון. עזיבה מסירה את הצוות עם כל הפגישות שלו.
meetings-leave-confirm = כן, להסיר את הצוות ואת הפגישות שלו
meetings-leave-remove = עזיבה והסרת הצוות
meetings-leave-owner = בתור הבעלים, יש להעביר את הבעלות למישהו לפני העזיבה.
meetings-invite-title = הזמנה לצוות
meetings-invite-heading = הצטרפות אל { $team }
meetings-invite-lead = הוזמנת לצוות הזה. הקישור בתוקף עד
meetings-invite-accept = הצטרפות לצוות
meetings-invite-already = כבר יש לך חברות בצוות הזה.
meetings-invite-go = מעבר לצוות
meetings-hosted-by = מארח: { $host }
meetings-who-team = הפגישה הזאת מיועדת לחברי הצוות.
meetings-who-own = כל מי שמחובר ויש לו את הקישור יכול להצטרף.
meetings-who-guests = גם אורחים יכולים להצטרף, עם שם.
meetings-join-as-host = זו הפגישה שלך: התפקיד שלך בה הוא מארח.
meetings-join-as-member = אפשר להצטרף לפגישה הזאת.
meetings-join-as-guest = אפשר להצטרף לפגישה הזאת כאורח.
meetings-details = פרטי הפגישה

# דואר. השורה האחרונה של הגוף מסיימת את ההודעה.
meetings-mail-invite-subject = הזמנה: { $title }
meetings-mail-invite-body =
    { $by } תזמן פגישה של { $team }: { $title }

    מתי: { $when }

    הצטרפות: { $link }
    הוספה ליומן: { $ics }
meetings-mail-invite-weekly-body =
    { $by } תזמן פגישה שבועית של { $team }: { $title }

    הראשונה: { $when }
    בכל שבוע בימים: { $repeats }

    הצטרפות: { $link }
    הוספה ליומן: { $ics }
meetings-mail-reminder-subject = מתחילה בקרוב: { $title }
meetings-mail-reminder-body =
    { $title } מתחילה בקרוב.

    מתי: { $when }

    הצטרפות: { $link }
